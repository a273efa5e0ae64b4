#!/bin/bash
# Issue 18: uploads (1 MiB, 100 MiB; 1 and 16 concurrent) to goforward (PUT
# /storage/v1/object/b/uN, service-role key, so each upload replaces a version) and to the naive
# baseline (bench/cmd/fileserver: PUT streams into a file and fsyncs it), alternating, 3 rounds.
# Prints MB/s (10^6 bytes) per measurement, with bench/cmd/putload as the client.
# usage: bench/storagebench/upload_vs_naiveput.sh GOFORWARD_BINARY LABEL [ROUNDS]   (from the repo root)
set -u
BIN=$1; LABEL=$2; ROUNDS=${3:-3}
FSBIN=$(mktemp /tmp/goforward-fileserver-XXXXXX); PUTLOAD=$(mktemp /tmp/goforward-putload-XXXXXX)
go build -o $FSBIN ./bench/cmd/fileserver || exit 1
go build -o $PUTLOAD ./bench/cmd/putload || exit 1
D=$(mktemp -d /tmp/goforward-ul-XXXXXX); chmod 755 $D
PORT=47411
GOFORWARD_SERVICES=storage GOFORWARD_STORAGE_FILE_SIZE_LIMIT=209715200 GOFORWARD_SERVER_RATE_LIMIT_REQUESTS_PER_SECOND=0 GOFORWARD_LOG_LEVEL=warn GOMAXPROCS=2 \
  $BIN serve --data-dir $D/data --port $PORT > $D/out.log 2> $D/err.log &
PID=$!
for i in $(seq 1 120); do curl -sf http://127.0.0.1:$PORT/ready >/dev/null && break; sleep 1; done
S=$($BIN status --data-dir $D/data --json)
SRK=$(echo "$S" | python3 -c "import json,sys; print(json.load(sys.stdin)['service_role_key'])")
curl -s -X POST http://127.0.0.1:$PORT/storage/v1/bucket -H "apikey: $SRK" -H "Authorization: Bearer $SRK" -H 'Content-Type: application/json' -d '{"name":"b"}' > /dev/null
head -c 1M /dev/urandom > $D/f1.bin; head -c 100M /dev/urandom > $D/f100.bin
mkdir -p $D/fs
GOMAXPROCS=2 $FSBIN 127.0.0.1:47412 $D/fs &
FS=$!
sleep 1
echo "load $(cat /proc/loadavg)"
for round in $(seq 1 $ROUNDS); do
  for size in 1 100; do
    for c in 1 16; do
      if [ $size = 1 ]; then N=$((c * 8 + 24)); else N=$((c == 1 ? 3 : 16)); fi
      for v in ours naive; do
        if [ $v = ours ]; then
          R=$($PUTLOAD -file $D/f$size.bin -n $N -c $c -url http://127.0.0.1:$PORT/storage/v1/object/b/u -H "apikey: $SRK" -H "Authorization: Bearer $SRK")
        else
          R=$($PUTLOAD -file $D/f$size.bin -n $N -c $c -url http://127.0.0.1:47412/u)
        fi
        echo "$LABEL round $round size ${size}MiB c$c $v $R"
      done
    done
  done
done
echo "load $(cat /proc/loadavg)"
kill $FS; kill -TERM $PID; wait $PID 2>/dev/null
rm -rf $D $FSBIN $PUTLOAD
