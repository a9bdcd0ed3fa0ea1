// Silences the AWS SDKs' notices in the rehearsal: cognito-local runs on SDK v2 (end of
// support), and this machine's Node 20 draws SDK v3's Node-version notice. Lambda runs
// nodejs24.x, where neither applies. Loaded with `node -r` and by jest's setupFiles.
'use strict';
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
