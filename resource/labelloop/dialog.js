// A modal dialog as the WAI-ARIA dialog pattern has it: opening moves focus into it, Tab and
// Shift+Tab cycle inside it, Escape closes it (when it may be closed), and closing gives focus back
// to where it was. `overlay`: the hidden element with role=dialog that holds the dialog's controls.

const FOCUSABLE = "button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), "
  + "a[href], [tabindex]:not([tabindex='-1'])";

export function makeDialog(overlay, { closable = true, onClose = () => {} } = {}) {
  let returnTo = null;
  overlay.setAttribute("aria-modal", "true");
  const focusables = () => [...overlay.querySelectorAll(FOCUSABLE)].filter((node) => !node.closest("[hidden]"));

  const dialog = {
    get isOpen() {
      return !overlay.hidden && overlay.isConnected;
    },
    open(first) {
      returnTo = document.activeElement;
      overlay.hidden = false;
      (first || focusables()[0] || overlay).focus();
    },
    close() {
      if (overlay.hidden) return;
      overlay.hidden = true;
      onClose();
      if (returnTo && returnTo.isConnected && returnTo.focus) returnTo.focus();
      returnTo = null;
    },
  };

  overlay.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && closable) {
      event.preventDefault();
      dialog.close();
    } else if (event.key === "Tab") {
      const nodes = focusables();
      if (!nodes.length) return event.preventDefault();
      const at = nodes.indexOf(document.activeElement);
      const next = event.shiftKey ? (at <= 0 ? nodes.length - 1 : at - 1) : (at === nodes.length - 1 ? 0 : at + 1);
      event.preventDefault();
      nodes[next].focus();
    }
    return undefined;
  });
  return dialog;
}
