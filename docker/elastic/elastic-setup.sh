#!/usr/bin/env bash
# The `elastic-setup` service, after Elastic's own compose example (docs/reference/setup/install/docker in
# the elasticsearch repository), for one node: a CA and a certificate for `elasticsearch` (kept in the
# `certs` volume, made once), then the kibana_system user's password, once elasticsearch answers.
set -euo pipefail
cd /usr/share/elasticsearch

if [ ${#ELASTIC_PASSWORD} -lt 6 ] || [ ${#KIBANA_PASSWORD} -lt 6 ]; then
    echo "ELASTIC_PASSWORD and KIBANA_PASSWORD (.env) must have at least 6 characters" >&2
    exit 1
fi
if [ ! -f config/certs/ca.zip ]; then
    echo "Creating the CA"
    bin/elasticsearch-certutil ca --silent --pem -out config/certs/ca.zip
    unzip -q config/certs/ca.zip -d config/certs
fi
if [ ! -f config/certs/certs.zip ]; then
    echo "Creating the elasticsearch certificate"
    printf '%s\n' "instances:" "  - name: elasticsearch" "    dns: [elasticsearch, localhost]" "    ip: [127.0.0.1]" \
        > config/certs/instances.yml
    bin/elasticsearch-certutil cert --silent --pem -out config/certs/certs.zip --in config/certs/instances.yml \
        --ca-cert config/certs/ca/ca.crt --ca-key config/certs/ca/ca.key
    unzip -q config/certs/certs.zip -d config/certs
fi
# Certificates readable by every container that mounts the volume (elasticsearch, kibana, flink); keys
# only by root's group, which the elasticsearch image's user is in (as in Elastic's example).
chown -R root:root config/certs
find config/certs -type d -exec chmod 755 {} +
find config/certs -type f -exec chmod 640 {} +
find config/certs -type f -name '*.crt' -exec chmod 644 {} +

echo "Waiting for elasticsearch"
until curl -s --cacert config/certs/ca/ca.crt https://elasticsearch:9200 | grep -q "missing authentication credentials"; do
    sleep 5
done
echo "Setting the kibana_system password"
until curl -s -X POST --cacert config/certs/ca/ca.crt -u "elastic:${ELASTIC_PASSWORD}" \
        -H "Content-Type: application/json" https://elasticsearch:9200/_security/user/kibana_system/_password \
        -d "{\"password\":\"${KIBANA_PASSWORD}\"}" | grep -q "^{}"; do
    sleep 5
done
echo "elastic-setup done"
