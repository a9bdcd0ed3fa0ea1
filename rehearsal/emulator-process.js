// Runs cognito-local on a free loopback port with its store in the directory given as
// argv[2], prints {"endpoint": ...} on one line once it listens, and stops when its stdin
// closes or it is signalled. A process of its own keeps cognito-local's ESM dependencies
// out of the caller's module loader (jest's cannot load them).
'use strict';
const fs = require('fs');
const path = require('path');

// cognito-local ships no types for its internals; this mirrors its createDefaultServer,
// with a directory and port of our choosing.
const lib = (p) => require(`cognito-local/lib/${p}`);

/**
 * cognito-local's own LambdaService (its trigger events, its exceptions), with a Lambda
 * client that POSTs each invocation to the caller's trigger server; no trigger without one.
 */
function lambdaOf(setting) {
  if (!setting) return { enabled: () => false };
  const { endpoint, names } = JSON.parse(setting);
  const client = {
    invoke: (request) => ({
      promise: async () => {
        const res = await fetch(endpoint, { method: 'POST', body: JSON.stringify(request) });
        return { StatusCode: 200, ...(await res.json()) };
      },
    }),
  };
  const { LambdaService } = lib('services/lambda');
  return new LambdaService(Object.fromEntries(names.map((name) => [name, name])), client);
}

async function main(directory) {
  fs.writeFileSync(
    path.join(directory, 'config.json'),
    JSON.stringify({
      // Usernames are plain usernames, as the seeder's users are.
      UserPoolDefaults: { UsernameAttributes: [] },
      ServerConfig: { port: 0, hostname: '127.0.0.1', https: false, development: false },
    }),
  );
  // cognito-local's own pino: a project that installs cognito-local may not have it at the top.
  const pino = require(require.resolve('pino', { paths: [path.dirname(require.resolve('cognito-local'))] }));
  const logger = pino({ level: 'silent' });
  const ctx = { logger };
  const { StormDBDataStoreFactory } = lib('services/dataStore/stormDb');
  const services = lib('services');
  const config = await lib('server/config').loadConfig(ctx, new StormDBDataStoreFactory(directory));
  const dataDirectory = path.join(directory, 'db');
  fs.mkdirSync(dataDirectory, { recursive: true });
  const clock = new services.DateClock();
  const dataStoreFactory = new StormDBDataStoreFactory(dataDirectory);
  const cognito = await new (lib('services/cognitoService').CognitoServiceFactoryImpl)(
    dataDirectory,
    dataStoreFactory,
    new (lib('services/userPoolService').UserPoolServiceFactoryImpl)(clock, dataStoreFactory),
  ).create(ctx, config.UserPoolDefaults);
  const triggers = new services.TriggersService(
    clock,
    cognito,
    lambdaOf(process.env.COGNITO_LOCAL_TRIGGERS),
    new (lib('services/crypto').CryptoService)(config.KMSConfig),
  );
  const { MessageDeliveryService } = lib('services/messageDelivery/messageDelivery');
  const { ConsoleMessageSender } = lib('services/messageDelivery/consoleMessageSender');
  const server = await lib('server/server')
    .createServer(
      lib('server/Router').Router({
        clock,
        cognito,
        config,
        messages: new services.MessagesService(triggers, new MessageDeliveryService(new ConsoleMessageSender())),
        otp: lib('services/otp').otp,
        tokenGenerator: new (lib('services/tokenGenerator').JwtTokenGenerator)(clock, triggers, config.TokenConfig),
        triggers,
      }),
      logger,
      config.ServerConfig,
    )
    .start();
  process.stdout.write(JSON.stringify({ endpoint: `http://127.0.0.1:${server.address().port}` }) + '\n');
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
}

process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1';
main(process.argv[2]).catch((error) => {
  process.stderr.write(`cognito-local did not start: ${error.stack}\n`);
  process.exit(1);
});
