// The page of `labelloop serve`: the backend is the server that served this page. A file of its
// own, since the Content-Security-Policy runs no inline script.
import { start } from "./app.js";

start(document.getElementById("labelloop-root"), { backendUrl: (path) => path });
