#!/bin/sh
# The measurement behind docs/runbook-faults.md (logs lost at the end): N worker processes each
# SIGKILLed the moment their job's completion is seen in Redis; prints the test's verdict.
# Usage: bench/logs-before-ack.sh [runs]   (default 20)
set -eu
LOGS_BEFORE_ACK_RUNS="${1:-20}" npx jest test/logging/logs-before-ack.test.ts
