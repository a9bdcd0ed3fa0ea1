// Imported first by a test file that loads Amplify JS. Amplify's SRP big-integer code (a
// jsbn port) chooses its multiplication routine when it loads, from the global `navigator`:
// Node 21 and later define one without `appName`, and the routine it then takes makes each
// SRP sign-in take seconds inside jest's sandbox. Browsers (`appName` 'Netscape') and Node 20
// (no navigator) take the fast one; with navigator hidden, Amplify loads as it does there.
// jest gives every test file a global of its own: no other file sees this.
Object.defineProperty(globalThis, 'navigator', { value: undefined, configurable: true, writable: true });
