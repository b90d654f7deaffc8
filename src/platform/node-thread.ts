// The script of a Node helper thread (dist/node-thread.js): its start message
// comes as workerData, its reports go to the parent port.
import { parentPort, workerData } from "node:worker_threads";
import { runThread, type ThreadStart } from "../runtime/threads/thread.js";

const port = parentPort;
if (port !== null) void runThread(workerData as ThreadStart, (message) => port.postMessage(message));
