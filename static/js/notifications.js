/* Riff notifications: the header bell's unread count, live over a WebSocket, and polled
   where sockets fail (each failed connect waits longer before the next try, and the count
   is fetched meanwhile) or the server takes none (no data-socket). Vanilla JS, no build
   step. */
(function () {
  "use strict";

  var POLL_MS = 30000;
  var RETRY_MS = [2000, 5000, 15000, 30000, 60000];

  function bell() {
    return document.querySelector(".js-bell");
  }

  function show(count) {
    var link = bell();
    if (!link || typeof count !== "number" || count < 0) return;
    var badge = link.querySelector(".badge");
    link.setAttribute("data-unread", String(count));
    link.setAttribute(
      "aria-label",
      count ? "Notifications: " + count + " unread" : "Notifications"
    );
    if (!badge) return;
    badge.textContent = count > 99 ? "99+" : String(count);
    badge.hidden = count === 0;
  }

  function fetchCount() {
    var link = bell();
    if (!link || !window.fetch) return;
    window
      .fetch(link.getAttribute("data-poll"), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (body) {
        if (body) show(body.unread);
      })
      .catch(function () {});
  }

  var failures = 0;
  var pollTimer = null;

  function startPolling() {
    if (pollTimer) return;
    fetchCount();
    pollTimer = window.setInterval(fetchCount, POLL_MS);
  }

  function stopPolling() {
    if (pollTimer) window.clearInterval(pollTimer);
    pollTimer = null;
  }

  function connect() {
    var link = bell();
    if (!link) return;
    if (!("WebSocket" in window) || !link.getAttribute("data-socket")) {
      link.setAttribute("data-live", "poll");
      startPolling();
      return;
    }
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket;
    try {
      socket = new WebSocket(scheme + window.location.host + link.getAttribute("data-socket"));
    } catch (e) {
      link.setAttribute("data-live", "poll");
      startPolling();
      return;
    }
    socket.addEventListener("open", function () {
      failures = 0;
      stopPolling();
      link.setAttribute("data-live", "socket");
    });
    socket.addEventListener("message", function (event) {
      try {
        show(JSON.parse(event.data).unread);
      } catch (e) {
        /* not ours */
      }
    });
    socket.addEventListener("close", function () {
      link.setAttribute("data-live", "poll");
      startPolling();
      var wait = RETRY_MS[Math.min(failures, RETRY_MS.length - 1)];
      failures += 1;
      window.setTimeout(connect, wait);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", connect);
  } else {
    connect();
  }
})();
