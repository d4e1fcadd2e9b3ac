// Upload one file with tus-js-client (Node) to a tus creation endpoint.
//
//   node tests/js/upload.mjs ENDPOINT FILE [--chunk BYTES] [--delay MS] [--meta JSON]
//                            [--retry-delays MS,MS,...]
//
// Prints one JSON line per event: {"event":"url",...}, {"event":"progress",...},
// {"event":"success",...} or {"event":"error",...}; exits 0 on success, 1 on failure.
// --delay waits before each request so a test can interrupt the upload mid-way.
import { createReadStream } from 'node:fs'
import { basename } from 'node:path'
import * as tus from 'tus-js-client'

const args = process.argv.slice(2)
const [endpoint, file] = args
const option = (name, fallback) => {
  const at = args.indexOf(name)
  return at >= 0 ? args[at + 1] : fallback
}
const chunkSize = Number(option('--chunk', String(1 << 20)))
const delay = Number(option('--delay', '0'))
const extra = JSON.parse(option('--meta', '{}'))
const retryDelays = option('--retry-delays', '0,300,500,1000,1000,2000,2000,3000,3000,5000')
  .split(',')
  .map(Number)
const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const upload = new tus.Upload(createReadStream(file), {
  endpoint,
  chunkSize,
  retryDelays,
  metadata: { filename: basename(file), filetype: 'application/octet-stream', ...extra },
  storeFingerprintForResuming: false,
  onBeforeRequest: async () => {
    if (delay > 0) await sleep(delay)
  },
  onUploadUrlAvailable: () => say({ event: 'url', url: upload.url }),
  onProgress: (sent, total) => say({ event: 'progress', sent, total }),
  onError: (error) => {
    say({ event: 'error', message: String(error) })
    process.exit(1)
  },
  onSuccess: () => {
    say({ event: 'success', url: upload.url })
    process.exit(0)
  },
})
upload.start()
