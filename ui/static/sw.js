// Espresso's service worker: the app shell (the three apps' pages, the wasm, scripts, styles,
// icons and manifests) kept in a cache named after the build, so an app opens with the server
// unreachable and says it is offline; and the customer's "your drink is ready" push
// notifications. Plain JS, served from the origin's root (`/sw.js`, scope `/`) with
// `Cache-Control: no-cache`, under the pages' Content-Security-Policy (`worker-src 'self'`).
//
// `cargo xtask build-ui` writes the two lines below: the build's version (a hash of every file
// of the build) and its files. A new build is a new script, so the browser installs it beside
// the old one; on activate every other Espresso cache is deleted.
const BUILD = 'dev';
const ASSETS = [];

const CACHE = 'espresso-shell-' + BUILD;
const CACHE_PREFIX = 'espresso-shell-';
// The apps' pages (the server links each app's own manifest into its page).
const PAGES = ['/', '/order', '/barista', '/display'];
// The staff build (the barista app and the booth screen): not among ASSETS, so a phone never
// downloads it; cached at install when a staff page registers the worker, else on first use.
const STAFF_BUILD = ['/app-staff.js', '/app-staff_bg.wasm'];
const STAFF_PAGES = ['/barista', '/display'];
// Never from the cache: the API, the live socket, operations.
const NETWORK_ONLY = ['/api/', '/healthz', '/readyz', '/metrics'];
// A page asked for while the network hangs (not refused) comes from the cache after this.
const NAVIGATION_TIMEOUT_MS = 4000;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const staff = windows.some((client) => STAFF_PAGES.includes(pageFor(new URL(client.url).pathname)));
    const files = PAGES.concat(ASSETS, staff ? STAFF_BUILD : []);
    // `reload`: past the browser's HTTP cache, the bytes of this build.
    await cache.addAll(files.map((url) => new Request(url, { cache: 'reload' })));
    // The new version takes over at once; pages opened before keep running their loaded code
    // and are told a new version is ready (`controllerchange`).
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names
      .filter((name) => name.startsWith(CACHE_PREFIX) && name !== CACHE)
      .map((name) => caches.delete(name)));
    await self.clients.claim();
  })());
});

function networkOnly(url) {
  return url.origin !== self.location.origin
    || url.pathname === '/sw.js'
    || NETWORK_ONLY.some((prefix) => url.pathname === prefix || url.pathname.startsWith(prefix));
}

// The cached page of the app this path opens (`/order`, `/barista/` …), else the start page.
function pageFor(pathname) {
  const last = pathname.replace(/\/+$/, '').split('/').pop();
  const page = PAGES.find((p) => p !== '/' && p.slice(1) === last);
  return page || '/';
}

async function navigation(request) {
  const url = new URL(request.url);
  const cached = () => caches.open(CACHE).then((cache) => cache.match(pageFor(url.pathname)));
  try {
    const response = await Promise.race([
      fetch(request),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), NAVIGATION_TIMEOUT_MS)),
    ]);
    return response;
  } catch (error) {
    const page = await cached();
    if (page) {
      return page;
    }
    throw error;
  }
}

async function asset(request, keep) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request, { ignoreSearch: true });
  if (hit) {
    return hit;
  }
  const response = await fetch(request);
  if (keep && response.ok) {
    await cache.put(new URL(request.url).pathname, response.clone());
  }
  return response;
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') {
    return;
  }
  const url = new URL(request.url);
  if (networkOnly(url)) {
    return;
  }
  if (request.mode === 'navigate') {
    event.respondWith(navigation(request));
  } else if (ASSETS.includes(url.pathname)) {
    event.respondWith(asset(request, false));
  } else if (STAFF_BUILD.includes(url.pathname)) {
    event.respondWith(asset(request, true));
  }
});

// Web Push: the server sends {title, body, url, tag} (encrypted, RFC 8291) when one of the
// customer's orders is ready, cancelled or timed out.
self.addEventListener('push', (event) => {
  let message = {};
  try {
    message = event.data ? event.data.json() : {};
  } catch (_) {
    message = { body: event.data ? event.data.text() : '' };
  }
  const title = message.title || 'Espresso';
  event.waitUntil(self.registration.showNotification(title, {
    body: message.body || '',
    tag: message.tag || 'espresso-order',
    icon: '/icon-192.png',
    badge: '/icon-192.png',
    data: { url: message.url || '/order' },
    renotify: true,
  }));
});

// A tap on the notification: focus a page of the order if one is open, else open it.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || '/order',
    self.location.origin);
  if (target.origin !== self.location.origin) {
    return;
  }
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const client of windows) {
      const url = new URL(client.url);
      if (url.pathname === target.pathname && 'focus' in client) {
        if (url.href !== target.href && 'navigate' in client) {
          await client.navigate(target.href);
        }
        return client.focus();
      }
    }
    return self.clients.openWindow(target.href);
  })());
});
