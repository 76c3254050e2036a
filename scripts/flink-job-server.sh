#!/usr/bin/env bash
# Beam's job server for Apache Flink, assembled from Maven Central's jars.
#
# usage: scripts/flink-job-server.sh jar      print the job server's jar (building it once)
#        scripts/flink-job-server.sh check    say whether it is built, build nothing
#
# Beam publishes no prebuilt Flink job server to Maven Central, and Flink's
# own release archive is not served there either. What is: the runner
# (org.apache.beam:beam-runners-flink-1.19), which holds the job server's
# main class and Flink 1.19 itself as dependencies. This script resolves it
# with plain Maven into $HOLDED_CACHE_DIR (like Kafka's jars), and writes a
# launcher jar beside the folder of jars: a manifest only, naming the main
# class, the jars and the packages Java 17 must open to Flink. `manage.py
# run_stream --runner flink` passes that jar to Beam, which starts it with
# `java -jar`: on Flink's embedded cluster ([local]), or as the client of a
# Flink cluster (--flink-master host:port).
#
# Version: Beam's Flink runner 2.62.0 is the newest that resolves completely
# here; Beam's Python SDK (2.77) submits to it through the portable job API.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

BEAM_FLINK_RUNNER_VERSION="${BEAM_FLINK_RUNNER_VERSION:-2.62.0}"
FLINK_MINOR="${FLINK_MINOR:-1.19}"
JOB_SERVER_HOME="$CACHE_DIR/beam-flink-job-server-$FLINK_MINOR-$BEAM_FLINK_RUNNER_VERSION"
JOB_SERVER_JAR="$JOB_SERVER_HOME/job-server.jar"

# What Flink 1.19 reflects into on Java 17; without these it fails to start.
ADD_OPENS="java.base/java.lang java.base/java.lang.reflect java.base/java.util java.base/java.util.concurrent"
ADD_OPENS+=" java.base/java.util.concurrent.atomic java.base/java.io java.base/java.net java.base/java.nio"
ADD_OPENS+=" java.base/sun.nio.ch java.base/java.time java.base/java.text java.base/java.math java.base/java.security"

# A manifest's lines hold at most 72 bytes; a longer one continues on lines that start with a space.
manifest_line() { printf '%s\n' "$1" | fold -w 70 | sed '2,$s/^/ /'; }

# The jars are resolved once; the launcher jar beside them is written again each time (it takes a
# second), so a change to this script reaches an existing cache.
build() {
    need_java
    need jar "apt-get install openjdk-17-jdk-headless"
    maven_fetch "$JOB_SERVER_HOME" "<project xmlns=\"http://maven.apache.org/POM/4.0.0\">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.holded</groupId><artifactId>flink-job-server</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.beam</groupId><artifactId>beam-runners-flink-$FLINK_MINOR</artifactId><version>$BEAM_FLINK_RUNNER_VERSION</version></dependency>
    <!-- The job server logs through slf4j 1.7; without a binding it says nothing at all. -->
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>1.7.30</version></dependency>
  </dependencies>
</project>" "dependency:copy-dependencies -DoutputDirectory=lib -DincludeScope=runtime"
    # Built in a folder of its own, then moved in one step: a job starting meanwhile reads the old jar or
    # the new, and two builds at once do not mix.
    local work classpath="" file
    work="$(mktemp -d "$JOB_SERVER_HOME/.build-XXXXXX")"
    for file in "$JOB_SERVER_HOME"/lib/*.jar; do
        classpath+=" lib/$(basename "$file")"
    done
    {
        manifest_line "Main-Class: org.apache.beam.runners.flink.FlinkJobServerDriver"
        manifest_line "Add-Opens: $ADD_OPENS"
        manifest_line "Class-Path:$classpath"
    } >"$work/MANIFEST.MF"
    # Warnings and errors only: at INFO, Flink logs two lines a checkpoint, every second.
    printf '%s\n' "org.slf4j.simpleLogger.defaultLogLevel=warn" "org.slf4j.simpleLogger.showThreadName=false" \
        >"$work/simplelogger.properties"
    jar --create --file "$work/job-server.jar" --manifest "$work/MANIFEST.MF" -C "$work" simplelogger.properties \
        || { rm -rf "$work"; die "could not write $JOB_SERVER_JAR"; }
    mv "$work/job-server.jar" "$JOB_SERVER_JAR"
    rm -rf "$work"
}

case "${1:-}" in
    jar) build && echo "$JOB_SERVER_JAR" ;;
    check) if [[ -f "$JOB_SERVER_JAR" ]]; then echo "$JOB_SERVER_JAR"; else echo "not built (run: $0 jar)"; exit 1; fi ;;
    *) die "usage: $0 jar|check" ;;
esac
