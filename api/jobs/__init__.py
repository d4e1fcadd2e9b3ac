"""Durable job delivery: job records written with the change that needs them (an outbox),
a dispatcher, late acknowledgement, a sweeper for lost and orphaned jobs, and the operators'
API and CLI to see and retry failed jobs."""
