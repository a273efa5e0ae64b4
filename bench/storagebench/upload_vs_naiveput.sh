#!/bin/bash
# Issue 18: uploads (1 MiB, 100 MiB; 1 and 16 concurrent) to goforward (PUT
# /storage/v1/object/b/uN, service-role key, so each upload replaces a version) and to the naive
# baseline (bench/cmd/fileserver: PUT streams into a file and fsyncs it), alternating, 3 rounds.
# Prints MB/s (10^6 bytes) per measurement, with bench/cmd/putload as the client. With a second
# binary (e.g. goforward built before a change), it runs as "ours2" on a port of its own and
# takes its turn in the same alternation.
# usage: bench/storagebench/upload_vs_naiveput.sh GOFORWARD_BINARY LABEL [ROUNDS [SECOND_BINARY]]   (from the repo root)
set -u
BIN=$1; LABEL=$2; ROUNDS=${3:-3}; BIN2=${4:-}
FSBIN=$(mktemp /tmp/goforward-fileserver-XXXXXX); PUTLOAD=$(mktemp /tmp/goforward-putload-XXXXXX)
go build -o $FSBIN ./bench/cmd/fileserver || exit 1
go build -o $PUTLOAD ./bench/cmd/putload || exit 1
D=$(mktemp -d /tmp/goforward-ul-XXXXXX); chmod 755 $D
PORT=47411; PORT2=47413
start() { # binary port datadir
  GOFORWARD_SERVICES=storage GOFORWARD_STORAGE_FILE_SIZE_LIMIT=2147483648 GOFORWARD_SERVER_RATE_LIMIT_REQUESTS_PER_SECOND=0 GOFORWARD_LOG_LEVEL=warn GOMAXPROCS=2 \
    $1 serve --data-dir $3 --port $2 > $3.out.log 2> $3.err.log &
  for i in $(seq 1 120); do curl -sf http://127.0.0.1:$2/ready >/dev/null && break; sleep 1; done
  $1 status --data-dir $3 --json | python3 -c "import json,sys; print(json.load(sys.stdin)['service_role_key'])" > $3.key
  curl -s -X POST http://127.0.0.1:$2/storage/v1/bucket -H "apikey: $(cat $3.key)" -H "Authorization: Bearer $(cat $3.key)" -H 'Content-Type: application/json' -d '{"name":"b"}' > /dev/null
}
start $BIN $PORT $D/data; PID=$!
SRK=$(cat $D/data.key)
VARIANTS="ours naive"
if [ -n "$BIN2" ]; then start $BIN2 $PORT2 $D/data2; PID2=$!; SRK2=$(cat $D/data2.key); VARIANTS="ours ours2 naive"; fi
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
      for v in $VARIANTS; do
        if [ $v = ours ]; then
          R=$($PUTLOAD -file $D/f$size.bin -n $N -c $c -url http://127.0.0.1:$PORT/storage/v1/object/b/u -H "apikey: $SRK" -H "Authorization: Bearer $SRK")
        elif [ $v = ours2 ]; then
          R=$($PUTLOAD -file $D/f$size.bin -n $N -c $c -url http://127.0.0.1:$PORT2/storage/v1/object/b/u -H "apikey: $SRK2" -H "Authorization: Bearer $SRK2")
        else
          R=$($PUTLOAD -file $D/f$size.bin -n $N -c $c -url http://127.0.0.1:47412/u)
        fi
        echo "$LABEL round $round size ${size}MiB c$c $v $R"
      done
    done
  done
done
echo "load $(cat /proc/loadavg)"
# Memory: goforward's own resident set before and its peak during one 1 GiB upload.
rm -f $D/f100.bin; head -c 1G /dev/urandom > $D/f1024.bin
echo 5 > /proc/$PID/clear_refs
echo "$LABEL rss before $(awk '/VmRSS/ {print $2}' /proc/$PID/status) kB"
$PUTLOAD -file $D/f1024.bin -n 1 -c 1 -url http://127.0.0.1:$PORT/storage/v1/object/b/big -H "apikey: $SRK" -H "Authorization: Bearer $SRK" > /dev/null
echo "$LABEL rss peak during 1 GiB upload $(awk '/VmHWM/ {print $2}' /proc/$PID/status) kB"
kill $FS; kill -TERM $PID; wait $PID 2>/dev/null
if [ -n "$BIN2" ]; then kill -TERM $PID2; wait $PID2 2>/dev/null; fi
rm -rf $D $FSBIN $PUTLOAD
