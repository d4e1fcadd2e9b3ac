# Elasticsearch 8 with the Japanese morphological analyzer (kuromoji) and ICU normalization,
# which the Kura index mappings use (indexer/backends/elasticsearch.py).
ARG ES_VERSION=8.15.3
FROM docker.elastic.co/elasticsearch/elasticsearch:${ES_VERSION}
RUN bin/elasticsearch-plugin install --batch analysis-kuromoji analysis-icu
