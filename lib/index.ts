export * from './password-mode';
export * from './seed-password';
export * from './seed-mfa';
export * from './seed-user';
export * from './user-seeder';
export * from './seeded-user-pool';
export * from './seeding-function-options';
