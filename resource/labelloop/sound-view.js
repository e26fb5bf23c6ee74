// Sound items: the waveform drawn from the decoded audio, play/pause (Space), replay (Backspace),
// seek (click the waveform, or , and .), playback speed ([ and ]), optional autoplay, the
// duration and the file name. A file the browser cannot decode says so and can still be answered.
import { el } from "./dom.js";

const SPEEDS = [0.5, 0.75, 1, 1.25, 1.5, 2];
const SEEK_SECONDS = 1;
const AUTOPLAY_KEY = "labelloop.autoplay";
const SPEED_KEY = "labelloop.speed";

function clock(seconds) {
  if (!Number.isFinite(seconds)) return "–:––";
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${(seconds - minutes * 60).toFixed(1).padStart(4, "0")}`;
}

// Peaks per pixel column, so a long file draws as fast as a short one.
function drawWaveform(canvas, samples) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.floor(canvas.clientWidth * ratio));
  const height = Math.max(1, Math.floor(canvas.clientHeight * ratio));
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  context.fillStyle = "#2f6fde";
  const step = samples.length / width;
  for (let x = 0; x < width; x += 1) {
    let low = 1;
    let high = -1;
    const end = Math.min(samples.length, Math.ceil((x + 1) * step));
    for (let i = Math.floor(x * step); i < end; i += 1) {
      if (samples[i] < low) low = samples[i];
      if (samples[i] > high) high = samples[i];
    }
    if (high < low) continue;
    const top = ((1 - high) / 2) * height;
    context.fillRect(x, top, 1, Math.max(1, ((high - low) / 2) * height));
  }
}

async function decode(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const bytes = await response.arrayBuffer();
  // An offline context decodes without a user gesture and without opening an audio device.
  const audio = await new OfflineAudioContext(1, 1, 44100).decodeAudioData(bytes);
  return audio.getChannelData(0);
}

export function preloadSound(data, context) {
  fetch(context.backendUrl(data.mediaUrl), { credentials: "same-origin" }).catch(() => {});
}

export function renderSound(data, config, context) {
  const url = context.backendUrl(data.mediaUrl);
  const audio = el("audio", { preload: "auto" });
  const canvas = el("canvas", { className: "waveform", "aria-hidden": "true" });
  const playhead = el("div", { className: "playhead" });
  const wave = el("div", { className: "wave", title: "Click to play from here" }, canvas, playhead);
  const play = el("button", { type: "button", className: "play", onClick: () => toggle() }, "Play (Space)");
  const replay = el("button", { type: "button", onClick: () => restart() }, "Replay (⌫)");
  const speed = el("select", { "aria-label": "Playback speed", onChange: () => setSpeed(Number(speed.value)) },
    SPEEDS.map((value) => el("option", { value: String(value) }, `${value}×`)));
  const autoplay = el("input", { type: "checkbox", onChange: () =>
    window.localStorage.setItem(AUTOPLAY_KEY, autoplay.checked ? "1" : "0") });
  const time = el("span", { className: "time" }, "");
  const view = el("div", { className: "sound-item" }, audio, wave,
    el("div", { className: "sound-controls" }, play, replay, speed,
      el("label", {}, autoplay, " Autoplay"), time),
    el("div", { className: "image-caption" }, el("span", { className: "file-name" }, data.path)));
  let samples = null;

  function update() {
    const duration = audio.duration;
    time.textContent = `${clock(audio.currentTime)} / ${clock(duration)}`;
    playhead.style.left = Number.isFinite(duration) && duration > 0 ? `${(audio.currentTime / duration) * 100}%` : "0";
    play.textContent = audio.paused ? "Play (Space)" : "Pause (Space)";
    if (!audio.paused && view.isConnected) window.requestAnimationFrame(update);
  }

  function broken() {
    wave.replaceChildren(el("p", { className: "media-error" },
      "This sound cannot be decoded. You can still label it or skip it."));
    for (const control of [play, replay, speed]) control.disabled = true;
  }

  function start() {
    audio.play().catch(() => { time.textContent = "Press Space to play."; });
  }

  function toggle() {
    if (audio.paused) start();
    else audio.pause();
  }

  function restart() {
    audio.currentTime = 0;
    start();
  }

  function seek(seconds) {
    if (Number.isFinite(audio.duration)) audio.currentTime = Math.min(Math.max(seconds, 0), audio.duration);
    update();
  }

  function setSpeed(value) {
    audio.playbackRate = value;
    speed.value = String(value);
    window.localStorage.setItem(SPEED_KEY, String(value));
  }

  function stepSpeed(direction) {
    const index = SPEEDS.indexOf(audio.playbackRate);
    setSpeed(SPEEDS[Math.min(Math.max((index < 0 ? 2 : index) + direction, 0), SPEEDS.length - 1)]);
  }

  audio.addEventListener("play", update);
  audio.addEventListener("pause", update);
  audio.addEventListener("seeked", update);
  audio.addEventListener("loadedmetadata", () => {
    update();
    if (autoplay.checked) start();
  });
  audio.addEventListener("error", broken);
  wave.addEventListener("click", (event) => {
    const box = wave.getBoundingClientRect();
    seek(((event.clientX - box.left) / box.width) * audio.duration);
    start();
  });
  const resized = new ResizeObserver(() => { if (samples) drawWaveform(canvas, samples); });
  resized.observe(canvas);

  autoplay.checked = window.localStorage.getItem(AUTOPLAY_KEY) === "1";
  setSpeed(Number(window.localStorage.getItem(SPEED_KEY)) || 1);
  audio.src = url;
  decode(url).then((decoded) => {
    samples = decoded;
    drawWaveform(canvas, samples);
  }, broken);

  view.onKey = (event) => {
    const actions = {
      " ": toggle,
      Backspace: restart,
      ",": () => seek(audio.currentTime - SEEK_SECONDS),
      ".": () => seek(audio.currentTime + SEEK_SECONDS),
      "[": () => stepSpeed(-1),
      "]": () => stepSpeed(1),
    };
    const action = actions[event.key];
    if (!action) return false;
    if (document.activeElement instanceof HTMLButtonElement) document.activeElement.blur();
    action();
    return true;
  };
  view.dispose = () => {
    audio.pause();
    resized.disconnect();
  };
  return view;
}
