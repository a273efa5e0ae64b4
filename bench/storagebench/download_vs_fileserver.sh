#!/bin/bash
# Issue 18: wrk -t1 -cN -d3s on a public object (1 MiB, 100 MiB) and on http.FileServer serving
# copies of the same files, alternating, 3 rounds. Prints wrk's Transfer/sec per measurement.
# usage: bench/storagebench/download_vs_fileserver.sh GOFORWARD_BINARY LABEL   (from the repo root)
set -u
BIN=$1; LABEL=$2
FSBIN=$(mktemp /tmp/goforward-fileserver-XXXXXX)
go build -o $FSBIN ./bench/cmd/fileserver || exit 1
D=$(mktemp -d /tmp/goforward-dl-XXXXXX); chmod 755 $D
PORT=47401
GOFORWARD_SERVICES=storage GOFORWARD_STORAGE_FILE_SIZE_LIMIT=209715200 GOFORWARD_SERVER_RATE_LIMIT_REQUESTS_PER_SECOND=0 GOFORWARD_LOG_LEVEL=warn GOMAXPROCS=2 \
  $BIN serve --data-dir $D/data --port $PORT > $D/out.log 2> $D/err.log &
PID=$!
for i in $(seq 1 120); do curl -sf http://127.0.0.1:$PORT/ready >/dev/null && break; sleep 1; done
S=$($BIN status --data-dir $D/data --json)
SRK=$(echo "$S" | python3 -c "import json,sys; print(json.load(sys.stdin)['service_role_key'])")
ANON=$(echo "$S" | python3 -c "import json,sys; print(json.load(sys.stdin)['anon_key'])")
curl -s -X POST http://127.0.0.1:$PORT/storage/v1/bucket -H "apikey: $SRK" -H "Authorization: Bearer $SRK" -H 'Content-Type: application/json' -d '{"name":"b","public":true}' > /dev/null
for size in 1 100; do
  head -c ${size}M /dev/urandom > $D/f$size.bin
  curl -s -X POST http://127.0.0.1:$PORT/storage/v1/object/b/f$size.bin -H "apikey: $SRK" -H "Authorization: Bearer $SRK" -H 'Content-Type: application/octet-stream' --data-binary @$D/f$size.bin > /dev/null
done
# The baseline serves a copy of each file from a directory of its own.
mkdir -p $D/fs; cp $D/f1.bin $D/f100.bin $D/fs/
GOMAXPROCS=2 $FSBIN 127.0.0.1:47402 $D/fs &
FS=$!
sleep 1
curl -s -o /dev/null -w "%{http_code} %{size_download}\n" http://127.0.0.1:$PORT/storage/v1/object/public/b/f1.bin -H "apikey: $ANON"
echo "load $(cat /proc/loadavg)"
for round in 1 2 3; do
  for size in 1 100; do
    for c in 1 16; do
      for v in ours fs; do
        if [ $v = ours ]; then URL=http://127.0.0.1:$PORT/storage/v1/object/public/b/f$size.bin; H="apikey: $ANON"; else URL=http://127.0.0.1:47402/f$size.bin; H="X-Any: 1"; fi
        R=$(wrk -t1 -c$c -d3s -H "$H" $URL 2>&1 | awk '/Transfer\/sec/ {print $2}')
        echo "$LABEL round $round size ${size}MiB c$c $v $R"
      done
    done
  done
done
echo "load $(cat /proc/loadavg)"
kill $FS; kill -TERM $PID; wait $PID 2>/dev/null
rm -rf $D $FSBIN
