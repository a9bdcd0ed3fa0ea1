// Runs a synthesized handler asset the way Lambda does: a fresh process with only the
// function's environment, its handler export (the function's `Handler`, `index.handler`
// unless it names another) called with the event and a context whose
// getRemainingTimeInMillis counts down the timeout, and the process killed at the timeout.
// The event arrives on stdin (a CloudFormation event holds the ResponseURL, which is never
// printed); what the handler returned, or the type of the error it threw, goes to fd 3.
'use strict';
const fs = require('fs');
const path = require('path');

/**
 * This process's peak resident memory. getrusage's maxRSS survives execve on Linux, so it
 * would report the parent's peak at fork time; VmHWM belongs to this address space alone.
 */
function peakRssKb() {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]);
  } catch {
    // Not Linux: fall back to getrusage.
  }
  return process.resourceUsage().maxRSS;
}

function report(outcome) {
  try {
    fs.writeSync(3, JSON.stringify(outcome));
  } catch {
    // No fd 3: a caller that does not read the result.
  }
}

let input = '';
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', () => {
  const { asset, event, timeoutMs, functionArn, exportName } = JSON.parse(input);
  const deadline = Date.now() + timeoutMs;
  const killer = setTimeout(() => {
    process.stdout.write(`Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds\n`);
    process.exit(124);
  }, timeoutMs);
  const context = {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    invokedFunctionArn: functionArn,
    awsRequestId: 'rehearsal-invocation',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  const handler = require(path.join(asset, 'index.js'))[exportName || 'handler'];
  const done = (outcome, code) => {
    clearTimeout(killer);
    report(outcome);
    const cpu = process.cpuUsage();
    const cpuMs = Math.round((cpu.user + cpu.system) / 1000);
    process.stdout.write(`${JSON.stringify({ maxRssKb: peakRssKb() })}\n${JSON.stringify({ cpuMs })}\n`, () =>
      process.exit(code),
    );
  };
  Promise.resolve(handler(event, context)).then(
    (result) => done({ result: result === undefined ? null : result }, 0),
    // A function error: Lambda reports its type (the error's name), as Step Functions matches it.
    (error) => done({ error: { name: (error && error.name) || 'Error' } }, 0),
  );
});
