/**
 * An embedded Cognito (cognito-local), in this process, on a free loopback port, with its
 * store in a fresh temporary directory. Its JSON store is corrupted by concurrent writes
 * (the running server keeps working, but a restart on the same directory fails), so every
 * start gets a new directory.
 */
import * as fs from 'fs';
import type * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';

/* eslint-disable @typescript-eslint/no-require-imports */
// cognito-local ships CommonJS without types for its internals; this mirrors its own
// createDefaultServer, with a directory and port of our choosing.
const lib = (p: string) => require(`cognito-local/lib/${p}`);

export interface Emulator {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  readonly directory: string;
  /** Stops the server and drops every open connection at once. */
  stop(): Promise<void>;
}

export async function startEmulator(): Promise<Emulator> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'cognito-local-'));
  const config = {
    // Usernames are plain usernames, as the seeder's users are.
    UserPoolDefaults: { UsernameAttributes: [] },
    ServerConfig: { port: 0, hostname: '127.0.0.1', https: false, development: false },
  };
  fs.writeFileSync(path.join(directory, 'config.json'), JSON.stringify(config));

  const pino = require('pino');
  const logger = pino({ level: 'silent' });
  const ctx = { logger };
  const { StormDBDataStoreFactory } = lib('services/dataStore/stormDb');
  const { loadConfig } = lib('server/config');
  const { CognitoServiceFactoryImpl } = lib('services/cognitoService');
  const { UserPoolServiceFactoryImpl } = lib('services/userPoolService');
  const services = lib('services');
  const { CryptoService } = lib('services/crypto');
  const { MessageDeliveryService } = lib('services/messageDelivery/messageDelivery');
  const { ConsoleMessageSender } = lib('services/messageDelivery/consoleMessageSender');
  const { otp } = lib('services/otp');
  const { JwtTokenGenerator } = lib('services/tokenGenerator');
  const { Router } = lib('server/Router');
  const { createServer } = lib('server/server');

  const loaded = await loadConfig(ctx, new StormDBDataStoreFactory(directory));
  const dataDirectory = path.join(directory, 'db');
  fs.mkdirSync(dataDirectory);
  const clock = new services.DateClock();
  const dataStoreFactory = new StormDBDataStoreFactory(dataDirectory);
  const cognito = await new CognitoServiceFactoryImpl(
    dataDirectory,
    dataStoreFactory,
    new UserPoolServiceFactoryImpl(clock, dataStoreFactory),
  ).create(ctx, loaded.UserPoolDefaults);
  // Triggers are never configured here, so the Lambda client they would use is never called.
  const triggers = new services.TriggersService(
    clock,
    cognito,
    { enabled: () => false },
    new CryptoService(loaded.KMSConfig),
  );
  const server: http.Server = await createServer(
    Router({
      clock,
      cognito,
      config: loaded,
      messages: new services.MessagesService(triggers, new MessageDeliveryService(new ConsoleMessageSender())),
      otp,
      tokenGenerator: new JwtTokenGenerator(clock, triggers, loaded.TokenConfig),
      triggers,
    }),
    logger,
    loaded.ServerConfig,
  ).start();
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    directory,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }).then(() => fs.rmSync(directory, { recursive: true, force: true })),
  };
}
