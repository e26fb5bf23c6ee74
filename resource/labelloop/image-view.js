// Image items: fit to the view, zoom (wheel, + and -, 0 to fit) and pan (drag), pixelated when a
// small image is enlarged, the file name below, and a clear message when the file cannot be decoded.
import { el } from "./dom.js";

const ZOOM_STEP = 1.25;

export function renderImage(data, config, context) {
  const image = el("img", { alt: data.path, draggable: "false" });
  const viewport = el("div", { className: "image-viewport", tabindex: "-1" }, image);
  const status = el("span", { className: "zoom" });
  const view = el("div", { className: "image-item" }, viewport,
    el("div", { className: "image-caption" }, el("span", { className: "file-name" }, data.path), status));
  const state = { scale: 1, fit: 1, x: 0, y: 0 };

  function apply() {
    image.style.transform = `translate(${state.x}px, ${state.y}px) scale(${state.scale})`;
    image.classList.toggle("pixelated", state.scale > 2);
    status.textContent = `${image.naturalWidth} × ${image.naturalHeight} px · ${Math.round(state.scale * 100)}%`;
  }

  function fit() {
    const box = viewport.getBoundingClientRect();
    state.fit = Math.min(box.width / image.naturalWidth, box.height / image.naturalHeight, 8) || 1;
    state.scale = state.fit;
    state.x = (box.width - image.naturalWidth * state.scale) / 2;
    state.y = (box.height - image.naturalHeight * state.scale) / 2;
    apply();
  }

  function zoom(factor, atX, atY) {
    const box = viewport.getBoundingClientRect();
    const px = atX === undefined ? box.width / 2 : atX;
    const py = atY === undefined ? box.height / 2 : atY;
    const scale = Math.min(Math.max(state.scale * factor, state.fit / 4), 64);
    state.x = px - ((px - state.x) * scale) / state.scale;
    state.y = py - ((py - state.y) * scale) / state.scale;
    state.scale = scale;
    apply();
  }

  image.addEventListener("load", fit);
  image.addEventListener("error", () => {
    viewport.replaceChildren(el("p", { className: "media-error" },
      "This image cannot be decoded. You can still label it or skip it."));
    status.textContent = "";
  });
  viewport.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = viewport.getBoundingClientRect();
    zoom(event.deltaY < 0 ? ZOOM_STEP : 1 / ZOOM_STEP, event.clientX - box.left, event.clientY - box.top);
  }, { passive: false });
  let drag = null;
  viewport.addEventListener("pointerdown", (event) => {
    drag = { x: event.clientX - state.x, y: event.clientY - state.y };
    viewport.setPointerCapture(event.pointerId);
  });
  viewport.addEventListener("pointermove", (event) => {
    if (!drag) return;
    state.x = event.clientX - drag.x;
    state.y = event.clientY - drag.y;
    apply();
  });
  viewport.addEventListener("pointerup", () => { drag = null; });

  // an unzoomed image fits again when its column changes width (a view opening beside it)
  const resized = new ResizeObserver(() => {
    if (image.naturalWidth && state.scale === state.fit && viewport.clientWidth) fit();
  });
  resized.observe(viewport);
  view.dispose = () => resized.disconnect();

  image.src = context.backendUrl(data.mediaUrl);
  view.onKey = (event) => {
    const actions = { "+": () => zoom(ZOOM_STEP), "=": () => zoom(ZOOM_STEP), "-": () => zoom(1 / ZOOM_STEP), "0": fit };
    const action = actions[event.key];
    if (action) action();
    return Boolean(action);
  };
  return view;
}

export function preloadImage(data, context) {
  new Image().src = context.backendUrl(data.mediaUrl);
}
