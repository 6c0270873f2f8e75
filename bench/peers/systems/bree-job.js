// The body of every bree job: it runs in a fresh worker thread, so "the job body starts" is the
// first statement here; the time goes back to the main thread with the worker's message.
import { parentPort, threadId } from "node:worker_threads";

parentPort.postMessage({ startedAt: Date.now(), threadId });
