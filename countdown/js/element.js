
// ---- <auto-logout-countdown> -------------------------------------------------------------
// Appended to wasm-bindgen's module by scripts/build-element.sh; the engine fills in the
// WebAssembly's content-hashed name when it serves this file.
const autoLogoutReady = __wbg_init({
  module_or_path: new URL("__AUTO_LOGOUT_WASM__", import.meta.url),
});

class AutoLogoutCountdown extends HTMLElement {
  async connectedCallback() {
    await autoLogoutReady;
    if (this.isConnected && !this.countdown) {
      this.countdown = new CountdownElement(this);
    }
  }

  disconnectedCallback() {
    if (this.countdown) {
      this.countdown.free();
      this.countdown = undefined;
    }
  }

  /** "Stay signed in", for a page's own button. */
  staySignedIn() {
    if (this.countdown) this.countdown.staySignedIn();
  }
}

if (!customElements.get("auto-logout-countdown")) {
  customElements.define("auto-logout-countdown", AutoLogoutCountdown);
}
