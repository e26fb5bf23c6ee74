/* global getWebAppBackendUrl */
// The shared labeling page (resource/labelloop/), talking to this webapp's backend.
import("/plugins/labelloop/resource/labelloop/app.js").then(({ start }) => {
  start(document.getElementById("labelloop-root"), { backendUrl: (path) => getWebAppBackendUrl("/" + path) });
});
