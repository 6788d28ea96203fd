#!/usr/bin/env bash
# Builds the benchmarks (no install) and runs them. Extra arguments go to JMH, e.g. ./run.sh -f 1 -wi 2 -i 3
set -euo pipefail
cd "$(dirname "$0")/../.."
source .ci/java-home
./mvnw -B -ntp -q -f bench/jmh/reactor/pom.xml -DskipTests package
cp="bench/jmh/target/classes:$(cat bench/jmh/target/classpath.txt)"
exec java -cp "$cp" org.openjdk.jmh.Main "$@"
