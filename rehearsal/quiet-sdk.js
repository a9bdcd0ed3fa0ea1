// Silences the AWS SDKs' notices in the rehearsal and the tests: cognito-local runs on SDK
// v2 (end of support). Loaded with `node -r` and by jest's setupFiles.
//
// SDK v3's Node-version notice is silenced only below Node 22, the baseline (a machine that
// has not installed it yet, as .ci/run does): on the baseline it stays audible, and CI
// fails on it, so an SDK that wants a newer Node is noticed, not hidden.
'use strict';
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1';
if (Number(process.versions.node.split('.')[0]) < 22) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
}
