// The first screen, shown from the page before the app's script and wasm arrive (cargo xtask
// build-ui inlines this script in page-<app>.html; the server lets it run by its hash in the
// Content-Security-Policy). Runs before the first paint: it picks the screen the app will show
// first (the sign-in form in the person's language, or "Loading…" when the app will show
// something else: signed in already, a code sent already, a booth or mail link to follow), so
// nothing flashes. A press of "Send me a code" before the app is there is kept (the button says
// "Sending…"; the app sends the code when it takes over, main.rs), as is the email typed.
(() => {
  const app = document.body.className.replace('theme-', '');
  const query = new URLSearchParams(location.search);
  const kept = (key) => {
    try {
      return localStorage.getItem(key);
    } catch (_) {
      return null;
    }
  };
  // The language as i18n.rs picks it: the address's ?lang=, else the one chosen on this device,
  // else the browser's first English or Portuguese, else English.
  const tag = (text) => {
    const primary = String(text || '').trim().split(/[-_]/)[0].toLowerCase();
    return primary === 'en' || primary === 'pt' ? primary : null;
  };
  const browser = navigator.languages && navigator.languages.length
    ? navigator.languages
    : [navigator.language];
  let lang = (query.get('lang') || '').split(/[ +,]/).map(tag).find(Boolean)
    || tag(kept('espresso.pref.lang'))
    || browser.map(tag).find(Boolean)
    || 'en';
  // Whose session: the app's own (the start page and the customer share one).
  const session = app === 'customer' ? 'customer' : app;
  const shop = query.get('shop') || 'main';
  const elsewhere = ['code', 'otp', 'signin'].some((param) => query.has(param))
    || kept('espresso.session.' + session) !== null
    || kept('espresso.pref.signin.pending.' + session) !== null
    || (app === 'customer' && kept('espresso.pref.pass.' + shop) !== null)
    || '__TAURI_INTERNALS__' in window;
  const here = document.currentScript;
  let shown = null;
  const show = (name) => {
    const template = document.querySelector('template[data-first="' + name + '"]');
    if (!template) {
      return;
    }
    const screen = template.content.firstElementChild.cloneNode(true);
    const typed = shown && shown.querySelector('input[name=email]');
    const field = screen.querySelector('input[name=email]');
    if (typed && field) {
      field.value = typed.value;
    }
    if (shown) {
      shown.replaceWith(screen);
    } else {
      here.before(screen);
    }
    shown = screen;
    document.documentElement.lang = lang;
  };
  show(elsewhere ? 'wait-' + lang : lang);
  const ours = (target) => shown && shown.isConnected && target instanceof Element && shown.contains(target);
  document.addEventListener('submit', (event) => {
    if (!ours(event.target)) {
      return;
    }
    event.preventDefault();
    // Kept for the app: it sends the code as soon as it takes over.
    event.target.dataset.pressed = 'yes';
    const button = event.target.querySelector('button[type=submit]');
    if (button) {
      button.disabled = true;
      button.textContent = lang === 'pt' ? 'Enviando…' : 'Sending…';
    }
  });
  document.addEventListener('click', (event) => {
    const target = event.target instanceof Element ? event.target.closest('[data-testid=lang-switch]') : null;
    if (!target || !ours(target)) {
      return;
    }
    lang = lang === 'pt' ? 'en' : 'pt';
    try {
      localStorage.setItem('espresso.pref.lang', lang);
    } catch (_) {
      // Private mode: the switch holds for this page only.
    }
    show(lang);
  });
})();
