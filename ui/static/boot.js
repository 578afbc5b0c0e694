// Starts the app (the wasm build of espresso-ui). A file of its own rather than an inline script, so
// the pages' Content-Security-Policy can allow scripts from this origin only.
import init from '/app.js';
init({ module_or_path: '/app_bg.wasm' });
