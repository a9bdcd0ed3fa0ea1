// What Lambda and the construct give a deployed seeding function, for handler tests that
// run it in-process: its own stack's id (the StackId of test/support/cfn.ts's events), and
// leave to answer the loopback ResponseURL server, as the rehearsal harness does.
'use strict';
process.env.SEED_STACK_ID = 'arn:aws:cloudformation:us-east-1:111111111111:stack/s/1';
process.env.SEED_ALLOW_LOOPBACK_RESPONSE_URL = 'true';
// Any AWS call a test did not mock goes to a closed loopback port, never to AWS.
for (const service of ['LAMBDA', 'COGNITO_IDENTITY_PROVIDER', 'SECRETS_MANAGER', 'SSM', 'S3']) {
  process.env[`AWS_ENDPOINT_URL_${service}`] ??= 'http://127.0.0.1:9';
}
process.env.AWS_REGION ??= 'us-east-1';
