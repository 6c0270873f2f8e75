#!/bin/sh
# An example command job: jobclock passes JOBCLOCK_JOB, JOBCLOCK_RUN_ID, JOBCLOCK_SLOT and
# JOBCLOCK_ATTEMPT in the environment, plus the job's own `env`.
echo "syncing orders from ${SHOP_URL} ($*) for slot ${JOBCLOCK_SLOT}, run ${JOBCLOCK_RUN_ID}"
sleep 1
echo "synced $(( $(date +%s) % 7 + 1 )) orders"
