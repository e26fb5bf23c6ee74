// Calls to the labeling backend. `backendUrl(path)` is getWebAppBackendUrl in DSS and the
// identity (a relative URL) standalone; on a shared server the annotator's name goes in a header.

const NAME_KEY = "labelloop.annotator";
const ANNOTATOR_KEY = "labelloop.annotatorKey";
const ISSUED_KEY = "labelloop.issuedKey";

export class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.needName = Boolean(body && body.needName);
  }
}

export function storedName() {
  return window.localStorage.getItem(NAME_KEY);
}

// `issuedKey`: the key the operator issued for this name (reviewers need one), kept per name.
export function storeName(name, issuedKey) {
  window.localStorage.setItem(NAME_KEY, name);
  if (issuedKey) window.localStorage.setItem(`${ISSUED_KEY}.${name}`, issuedKey);
}

// On a shared server a name belongs to a key: the one the operator issued for it, or else this
// browser's random key, made once and kept, which proves it is the same annotator.
function annotatorKey(name) {
  const issued = window.localStorage.getItem(`${ISSUED_KEY}.${name}`);
  if (issued) return issued;
  let key = window.localStorage.getItem(ANNOTATOR_KEY);
  if (!key) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    key = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    window.localStorage.setItem(ANNOTATOR_KEY, key);
  }
  return key;
}

const RETRIES_WHEN_UNAVAILABLE = 3;

const pause = (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

export function makeApi(backendUrl) {
  // A 503 means the journal database was briefly unreachable and nothing was written: try again.
  async function call(method, path, body, options = {}) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await callOnce(method, path, body, options);
      } catch (error) {
        if (error.status !== 503 || attempt > RETRIES_WHEN_UNAVAILABLE) throw error;
        await pause(error.retryAfter || 1);
      }
    }
  }

  // `keepalive`: the request outlives the page (an answer sent as the annotator leaves).
  async function callOnce(method, path, body, { keepalive = false } = {}) {
    // A header no page on another origin can send without the server's consent (a preflight it
    // never grants): the server hands out items only to requests that carry it.
    const headers = { Accept: "application/json", "X-Requested-With": "labelloop" };
    const name = storedName();
    if (name) {
      headers["X-Labelloop-User"] = name;
      headers["X-Labelloop-Key"] = annotatorKey(name);
    }
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(backendUrl(path), {
        method, headers, credentials: "same-origin", keepalive,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ApiError("The labeling server cannot be reached.", 0, null);
    }
    let payload = null;
    try {
      payload = await response.json();
    } catch (error) {
      payload = null;
    }
    if (!response.ok) {
      const message = payload && typeof payload.error === "string" ? payload.error : `Error ${response.status}`;
      const error = new ApiError(message, response.status, payload);
      error.retryAfter = Number(response.headers.get("Retry-After")) || 0;
      throw error;
    }
    return payload;
  }
  return {
    config: () => call("GET", "config"),
    batch: (size) => call("GET", `batch?size=${size}`),
    search: (q, size, mode = "text") => call("GET", `search?q=${encodeURIComponent(q)}&size=${size}&mode=${mode}`),
    label: (body) => call("POST", "label", body, { keepalive: true }),
    skip: (body) => call("POST", "skip", body, { keepalive: true }),
    // Sent as the page is hidden: once, with no answer awaited (the page may be gone)
    release: (ids) => (ids.length ? callOnce("POST", "release", { ids }, { keepalive: true }).catch(() => null) : null),
    history: (direction, cursor) =>
      call("GET", `history?direction=${direction}` + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : "")),
    stats: () => call("GET", "stats"),
    reviewBatch: (size) => call("GET", `review?size=${size}`),
    rules: () => call("GET", "rules"),
    previewRule: (rule) => call("POST", "rules/preview", { rule }),
    saveRules: (rules) => call("PUT", "rules", { rules }),
    review: (body) => call("POST", "review", body),
    similar: (id, size) => call("GET", `similar?id=${encodeURIComponent(id)}&size=${size}`),
    clusters: (size) => call("GET", `clusters?size=${size}`),
    cluster: (id, size) => call("GET", `clusters/${encodeURIComponent(id)}?size=${size}`),
    labelBulk: (body) => call("POST", "label/bulk", body),
    undoGroup: (group) => call("POST", "label/bulk/undo", { group }),
    groups: () => call("GET", "groups"),
    train: () => call("POST", "train", {}),
  };
}
