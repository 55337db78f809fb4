/* Riff's header, live: the bell's unread count and the chip of a clip being made, over
   WebSockets. The bell's count is live over a WebSocket, and polled
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

  // ---------- the clip being made: a chip in the header, on every page ----------

  var FINAL = { succeeded: "Ready", failed: "Failed", cancelled: "Stopped", timed_out: "Failed" };

  function showJob(chip, status) {
    if (!status || !status.state) return;
    var text = chip.querySelector(".render-chip-text");
    var progress = status.progress || {};
    var share = progress.total ? Math.round((100 * progress.step) / progress.total) : 0;
    chip.setAttribute("data-state", status.state);
    chip.style.setProperty("--p", String(share));
    if (FINAL[status.state]) {
      text.textContent = FINAL[status.state];
      chip.setAttribute(
        "aria-label",
        status.state === "succeeded" ? "Your clip is ready: open it" : "Your clip stopped: see why"
      );
      return true;
    }
    text.textContent = status.state === "queued" ? "Queued" : share + "%";
    return false;
  }

  function watchJob() {
    var chip = document.querySelector(".js-job-chip");
    if (!chip || FINAL[chip.getAttribute("data-state")]) return;
    var done = false;
    function poll() {
      if (done || !window.fetch) return;
      window
        .fetch(chip.getAttribute("data-status"), {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (status) {
          done = showJob(chip, status) || done;
          if (!done) window.setTimeout(poll, 3000);
        })
        .catch(function () {
          window.setTimeout(poll, 10000);
        });
    }
    var path = chip.getAttribute("data-socket");
    if (!path || !("WebSocket" in window)) {
      poll();
      return;
    }
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + path);
    socket.addEventListener("message", function (event) {
      try {
        done = showJob(chip, JSON.parse(event.data)) || done;
      } catch (e) {
        return;
      }
      if (done) socket.close();
    });
    socket.addEventListener("close", function () {
      if (!done) poll();
    });
  }

  // ---------- a conversation: new messages appear as they are sent ----------

  function watchConversation() {
    var list = document.getElementById("message-list");
    if (!list || !list.getAttribute("data-since")) return;
    var fetching = false;
    function lastShown() {
      var items = list.querySelectorAll("[data-id]");
      return items.length ? Number(items[items.length - 1].getAttribute("data-id")) : 0;
    }
    function fetchNew() {
      if (fetching || !window.htmx) return;
      fetching = true;
      var url = list.getAttribute("data-since") + "?after=" + lastShown();
      window.htmx
        .ajax("GET", url, { target: list, swap: "beforeend" })
        .then(function () {
          fetching = false;
          var last = list.lastElementChild;
          if (last) last.scrollIntoView({ block: "nearest" });
        });
    }
    function heard(last) {
      if (typeof last === "number" && last > lastShown()) fetchNew();
    }
    var path = list.getAttribute("data-socket");
    var pollTimer = null;
    function poll() {
      if (!pollTimer) pollTimer = window.setInterval(fetchNew, POLL_MS / 6);
    }
    if (!path || !("WebSocket" in window)) {
      poll();
      return;
    }
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + path);
    socket.addEventListener("open", function () {
      list.setAttribute("data-live", "socket");
    });
    socket.addEventListener("message", function (event) {
      try {
        heard(JSON.parse(event.data).last);
      } catch (e) {
        /* not ours */
      }
    });
    socket.addEventListener("close", function () {
      list.setAttribute("data-live", "poll");
      poll();
    });
  }

  function start() {
    connect();
    watchJob();
    watchConversation();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
