// Starts the page's app. The customer app is a build of its own (a phone downloads only it);
// the barista app and the booth screen share the staff build. /barista… and /display… load
// the staff build, every other page (the order page, the links page) the customer's. A file of
// its own rather than an inline script, so the pages' Content-Security-Policy can allow scripts
// from this origin only.
const path = location.pathname;
const build = path.startsWith('/barista') || path.startsWith('/display') ? 'staff' : 'customer';

// The service worker (`/sw.js`): the app shell offline and the customer's push notifications. In
// a browser only: the Tauri shell carries its own build and notifies natively.
function registerServiceWorker() {
  const tauri = '__TAURI__' in window || '__TAURI_INTERNALS__' in window;
  const web = location.protocol === 'https:' || location.protocol === 'http:';
  if (tauri || !web || !('serviceWorker' in navigator)) {
    return;
  }
  // A worker taking over a page that already had one is a new version: the app says so
  // (it listens for `espresso-update`) and the next load runs it.
  const hadController = Boolean(navigator.serviceWorker.controller);
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (hadController) {
      window.espressoUpdateReady = true;
      window.dispatchEvent(new Event('espresso-update'));
    }
  });
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((error) => {
    console.warn('Espresso: no service worker', error);
  });
}

registerServiceWorker();
const { default: init } = await import(`/app-${build}.js`);
await init({ module_or_path: `/app-${build}_bg.wasm` });
