/* Riff feed player: autoplay what is on screen, tap to pause and double tap to like,
   keyboard and sound controls, engagement events, and small htmx glue. Vanilla JS, no
   build step. */
(function () {
  "use strict";

  var SOUND_KEY = "riff:sound";
  var VISIBLE = 0.6;
  var SKIP_SECONDS = 2;
  var FLUSH_MS = 5000;
  var MAX_BATCH = 50;
  // Events kept for a resend while the server can't take them (a restart, a limit).
  var MAX_QUEUED = 500;
  // The server believes a view no longer than the clip looping this many times
  // (ranking/intake.py MAX_LOOPS): a clip left playing counts up to there.
  var MAX_LOOPS = 30;
  // Two taps on a clip within this many ms are a double tap (a like), not two pauses.
  var DOUBLE_TAP_MS = 280;
  var HEART_SVG =
    '<svg viewBox="0 0 24 24" focusable="false"><path d="M12 21s-7.5-4.6-10-9.3C.4 8.4 2.2 4.5 ' +
    '6 4.1c2.2-.2 3.9 1 6 3.2 2.1-2.2 3.8-3.4 6-3.2 3.8.4 5.6 4.3 4 7.6C19.5 16.4 12 21 12 21z"/></svg>';

  var reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  var state = new WeakMap(); // article -> per-clip playback bookkeeping
  var queue = [];
  // Only signed-in viewers' events teach the feed: the page names where to send them only
  // for a signed-in viewer (base.html), and a refusal (signed out meanwhile) stops them.
  var eventsUrl = document.body ? document.body.getAttribute("data-events-url") : null;
  var active = null;
  var observer = null;
  var soundOn = readSound();

  // ---------- small helpers ----------

  function readSound() {
    try {
      return window.localStorage.getItem(SOUND_KEY) === "on";
    } catch (e) {
      return false;
    }
  }

  function writeSound(on) {
    try {
      window.localStorage.setItem(SOUND_KEY, on ? "on" : "off");
    } catch (e) {
      /* private mode: the choice lasts for this page only */
    }
  }

  function cookie(name) {
    var parts = document.cookie ? document.cookie.split(";") : [];
    for (var i = 0; i < parts.length; i++) {
      var kv = parts[i].trim();
      if (kv.indexOf(name + "=") === 0) return decodeURIComponent(kv.slice(name.length + 1));
    }
    return "";
  }

  function csrfToken() {
    var token = cookie("csrftoken");
    if (token) return token;
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  // Other scripts of Riff's pages (push.js) send their writes with the same token.
  window.Riff = window.Riff || {};
  window.Riff.csrfToken = csrfToken;

  function uuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) {
      return (x + 0x100).toString(16).slice(1);
    }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" +
      h.slice(16, 20) + "-" + h.slice(20);
  }

  function toast(text) {
    var box = document.querySelector(".toasts");
    if (!box) {
      box = document.createElement("div");
      box.className = "toasts";
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      document.body.appendChild(box);
    }
    var p = document.createElement("p");
    p.className = "toast";
    p.textContent = text;
    box.appendChild(p);
    window.setTimeout(function () {
      p.remove();
    }, 6000);
  }

  // ---------- engagement events ----------

  function record(article, kind, value) {
    if (!eventsUrl) return;
    var post = parseInt(article.getAttribute("data-post-id"), 10);
    if (!post) return;
    queue.push({
      post: post,
      kind: kind,
      value: typeof value === "number" ? Math.round(value * 1000) / 1000 : 1,
      client_id: uuid(),
    });
  }

  function requeue(batch) {
    // Each event keeps its client_id: for a signed-in viewer, one that did arrive after all
    // counts once.
    queue = batch.concat(queue).slice(0, MAX_QUEUED);
  }

  function flush() {
    if (!queue.length || !eventsUrl) return;
    var url = eventsUrl;
    var batches = [];
    while (queue.length) batches.push(queue.splice(0, MAX_BATCH));
    batches.forEach(function (batch) {
      try {
        window.fetch(url, {
          method: "POST",
          keepalive: true,
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
          body: JSON.stringify({ events: batch }),
        }).then(function (response) {
          // Refused for now (429, or 503 while the server restarts): sent again next time.
          // A 400 would be refused again, so that batch is dropped. 401 or 403: signed out
          // (or suspended) since the page loaded, so this page sends no more.
          if (response.status === 401 || response.status === 403) {
            eventsUrl = null;
            queue = [];
          } else if (response.status === 429 || response.status >= 500) {
            requeue(batch);
          }
        }).catch(function () {
          requeue(batch);
        });
      } catch (e) {
        /* a keepalive quota error must not break playback; the events go next time */
        requeue(batch);
      }
    });
  }

  // ---------- playback ----------

  function clipState(article) {
    var s = state.get(article);
    if (!s) {
      s = { seen: false, since: 0, playingSince: 0, watched: 0, lastTime: 0, userPaused: false };
      state.set(article, s);
    }
    return s;
  }

  function videoOf(article) {
    return article.querySelector("video");
  }

  function applySound() {
    document.querySelectorAll(".feed video").forEach(function (v) {
      v.muted = !soundOn;
    });
    document.querySelectorAll(".sound-btn").forEach(function (b) {
      b.setAttribute("aria-pressed", soundOn ? "true" : "false");
      b.setAttribute("aria-label", soundOn ? "Sound on" : "Sound off");
      b.title = soundOn ? "Mute (m)" : "Unmute (m)";
    });
  }

  function setSound(on) {
    soundOn = on;
    writeSound(on);
    applySound();
    if (active && on) {
      var v = videoOf(active);
      if (v.paused && !clipState(active).userPaused) play(active);
    }
  }

  function showPlayButton(article, show) {
    var b = article.querySelector(".play-btn");
    if (b) b.hidden = !show;
  }

  function play(article) {
    var v = videoOf(article);
    // A labelled clip waits behind its warning until the viewer taps "View clip".
    if (!v || article.classList.contains("is-screened")) return;
    v.muted = !soundOn;
    var p = v.play();
    if (p && typeof p.catch === "function") {
      p.catch(function (err) {
        if (err && err.name === "NotAllowedError" && !v.muted) {
          // Sound needs a gesture first: play muted until the viewer taps.
          v.muted = true;
          soundOn = false;
          applySound();
          v.play().catch(function () {
            showPlayButton(article, true);
          });
        } else if (err && err.name === "NotAllowedError") {
          showPlayButton(article, true);
        }
      });
    }
  }

  function stopWatch(s) {
    if (s.playingSince) {
      s.watched += (performance.now() - s.playingSince) / 1000;
      s.playingSince = 0;
    }
  }

  function activate(article) {
    if (active === article) return;
    if (active) deactivate(active);
    active = article;
    var s = clipState(article);
    s.since = performance.now();
    s.watched = 0;
    s.userPaused = false;
    if (!s.seen) {
      s.seen = true;
      record(article, "impression", 1);
    }
    if (reducedMotion) {
      showPlayButton(article, true);
    } else {
      play(article);
    }
  }

  function deactivate(article) {
    var s = clipState(article);
    var v = videoOf(article);
    if (v && !v.paused) v.pause();
    stopWatch(s);
    reportView(article, s);
    if (active === article) active = null;
  }

  function reportView(article, s) {
    if (!s.since) return;
    var onScreen = (performance.now() - s.since) / 1000;
    var v = videoOf(article);
    if (v && isFinite(v.duration) && v.duration > 0) {
      s.watched = Math.min(s.watched, v.duration * MAX_LOOPS);
    }
    if (s.watched > 0) record(article, "view", s.watched);
    if (onScreen < SKIP_SECONDS) record(article, "skip", s.watched);
    s.since = 0;
    s.watched = 0;
  }

  function togglePlay(article) {
    var v = videoOf(article);
    if (!v) return;
    var s = clipState(article);
    if (v.paused) {
      s.userPaused = false;
      play(article);
    } else {
      s.userPaused = true;
      v.pause();
    }
  }

  function doubleTapLike(article, e) {
    var stage = article.querySelector(".stage") || article;
    var box = stage.getBoundingClientRect();
    var heart = document.createElement("span");
    heart.className = "tap-heart";
    heart.setAttribute("aria-hidden", "true");
    heart.innerHTML = HEART_SVG;
    heart.style.left = e.clientX - box.left + "px";
    heart.style.top = e.clientY - box.top + "px";
    stage.appendChild(heart);
    window.setTimeout(function () {
      heart.remove();
    }, 800);
    var form = article.querySelector(".like-form");
    var action = form && form.querySelector('input[name="action"]');
    if (form && action && action.value === "like") form.requestSubmit();
  }

  function wire(article) {
    if (article.hasAttribute("data-wired")) return;
    article.setAttribute("data-wired", "");
    var v = videoOf(article);
    if (!v) return;
    var s = clipState(article);
    v.muted = !soundOn;
    v.addEventListener("playing", function () {
      if (!s.playingSince) s.playingSince = performance.now();
      showPlayButton(article, false);
    });
    v.addEventListener("pause", function () {
      stopWatch(s);
      if (active === article) showPlayButton(article, true);
    });
    v.addEventListener("timeupdate", function () {
      s.lastTime = v.currentTime;
    });
    v.addEventListener("seeking", function () {
      // A looping video never fires "ended": it seeks back to the start, one completed watch.
      if (v.currentTime < 0.2 && s.lastTime > 0) record(article, "complete", 1);
      s.lastTime = 0;
    });
    // A tap pauses or plays; a second tap within DOUBLE_TAP_MS makes it a double tap, which
    // likes the clip (never unlikes) with a heart where the finger was.
    var tapTimer = null;
    v.addEventListener("click", function (e) {
      if (tapTimer) {
        window.clearTimeout(tapTimer);
        tapTimer = null;
        doubleTapLike(article, e);
        return;
      }
      tapTimer = window.setTimeout(function () {
        tapTimer = null;
        togglePlay(article);
      }, DOUBLE_TAP_MS);
    });
    if (observer) observer.observe(article);
  }

  function wireAll(root) {
    (root || document).querySelectorAll("article.clip").forEach(wire);
    applySound();
  }

  function onIntersect(entries) {
    entries.forEach(function (entry) {
      var article = entry.target;
      if (entry.isIntersecting && entry.intersectionRatio >= VISIBLE) {
        activate(article);
      } else if (active === article) {
        deactivate(article);
      } else {
        var v = videoOf(article);
        if (v && !v.paused) v.pause();
      }
    });
  }

  function clips() {
    return Array.prototype.slice.call(document.querySelectorAll(".feed article.clip"));
  }

  function currentClip() {
    if (active) return active;
    var all = clips();
    var mid = window.innerHeight / 2;
    for (var i = 0; i < all.length; i++) {
      var r = all[i].getBoundingClientRect();
      if (r.top <= mid && r.bottom >= mid) return all[i];
    }
    return all[0] || null;
  }

  function go(delta) {
    var all = clips();
    var cur = currentClip();
    var i = all.indexOf(cur);
    var next = all[Math.max(0, Math.min(all.length - 1, i + delta))];
    if (!next || next === cur) return;
    next.scrollIntoView({ behavior: reducedMotion ? "auto" : "smooth", block: "start" });
    next.focus({ preventScroll: true });
  }

  function isTyping(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function onKey(e) {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || isTyping(e.target)) return;
    if (!document.querySelector(".feed article.clip")) return;
    if (document.querySelector("dialog[open]")) return; // keys belong to the open panel
    var key = e.key;
    if (key === "ArrowDown" || key === "j" || key === "J") {
      e.preventDefault();
      go(1);
    } else if (key === "ArrowUp" || key === "k" || key === "K") {
      e.preventDefault();
      go(-1);
    } else if (key === " " || key === "Spacebar") {
      var t = e.target;
      if (t && (t.tagName === "BUTTON" || t.tagName === "A" || t.tagName === "SUMMARY")) return;
      e.preventDefault();
      var cur = currentClip();
      if (cur) togglePlay(cur);
    } else if (key === "m" || key === "M") {
      e.preventDefault();
      setSound(!soundOn);
    }
  }

  // ---------- buttons ----------

  function share(button) {
    var url = window.location.origin + button.getAttribute("data-share-path");
    var title = button.getAttribute("data-share-title") || "A clip on Riff";
    var article = button.closest("article.clip");
    var postId = button.getAttribute("data-post-id");
    var target = article || (postId ? { getAttribute: function () { return postId; } } : null);
    if (target) record(target, "share", 1);
    flush();
    if (navigator.share) {
      navigator.share({ title: title, url: url }).catch(function () {
        /* the viewer closed the share sheet */
      });
    } else if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(url).then(
        function () {
          toast("Link copied");
        },
        function () {
          toast(url);
        }
      );
    } else {
      toast(url);
    }
  }

  function unscreen(host) {
    if (!host) return;
    host.classList.remove("is-screened");
    var screen = host.querySelector(".label-screen");
    if (screen) screen.remove();
    if (host.matches("article.clip")) {
      if (active === host) play(host);
      return;
    }
    var v = host.querySelector("video");
    if (v) {
      v.controls = true;
      v.play().catch(function () {});
    }
  }

  function onClick(e) {
    var button = e.target.closest("[data-action]");
    if (button) {
      var action = button.getAttribute("data-action");
      if (action === "sound") {
        setSound(!soundOn);
      } else if (action === "play") {
        var article = button.closest("article.clip");
        if (article) togglePlay(article);
      } else if (action === "share") {
        share(button);
      } else if (action === "unscreen") {
        unscreen(button.closest(".is-screened"));
      } else if (action === "close-sheet") {
        var sheet = button.closest("dialog");
        if (sheet) sheet.close();
      }
    }
    // A clip menu's item closes its menu; a click on a dialog's backdrop closes the dialog.
    var item = e.target.closest(".clip-menu .menu-item");
    if (item) item.closest("details.menu").removeAttribute("open");
    if (e.target.tagName === "DIALOG" && e.target.open) e.target.close();
    // Clicking outside an open menu closes it.
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(e.target)) menu.removeAttribute("open");
    });
  }

  // ---------- htmx glue ----------

  function htmxGlue() {
    document.body.addEventListener("htmx:beforeSwap", function (e) {
      var xhr = e.detail.xhr;
      if (xhr.status === 400 && xhr.getResponseHeader("HX-Retarget")) {
        // Validation messages aimed at a form's error box: show them.
        e.detail.shouldSwap = true;
        e.detail.isError = false;
      } else if (xhr.status >= 400) {
        var type = xhr.getResponseHeader("Content-Type") || "";
        var text = type.indexOf("text/plain") === 0 ? xhr.responseText : "";
        toast(text || "That didn't work. Try again.");
      }
    });
    // A panel loaded into a <dialog> (why am I seeing this?) opens as a modal.
    // A clip's comments loaded into the sheet: open it over the clip.
    document.body.addEventListener("htmx:afterSwap", function (e) {
      var target = e.detail.target;
      if (target && target.id === "comments-sheet-body") {
        var sheet = document.getElementById("comments-sheet");
        if (sheet && !sheet.open) sheet.showModal();
        var field = sheet && sheet.querySelector(".comment-form textarea");
        if (field && window.matchMedia("(min-width: 720px)").matches) field.focus();
      }
    });
    document.body.addEventListener("htmx:afterSwap", function (e) {
      var target = e.detail.target;
      if (target && target.tagName === "DIALOG" && !target.open && target.isConnected) {
        target.showModal();
      }
    });
    document.body.addEventListener("htmx:sendError", function () {
      toast("You seem to be offline.");
    });
    document.body.addEventListener("htmx:beforeRequest", function (e) {
      if (e.detail.elt.classList.contains("feed-sentinel")) {
        var feed = e.detail.elt.closest(".feed");
        if (feed) feed.setAttribute("aria-busy", "true");
      }
    });
    document.body.addEventListener("htmx:afterSettle", function () {
      var feed = document.querySelector(".feed[aria-busy='true']");
      if (feed) feed.setAttribute("aria-busy", "false");
      wireAll(document);
      // A comment made (or deleted) in the sheet: the clip's rail counts it too.
      document.querySelectorAll(".js-rail-comments").forEach(function (count) {
        var fresh = document.getElementById("comment-count-" + count.getAttribute("data-post"));
        if (fresh) count.textContent = fresh.textContent;
      });
    });
    document.body.addEventListener("htmx:afterRequest", function (e) {
      var form = e.detail.elt;
      if (form.matches && form.matches(".comment-form") && e.detail.successful) {
        form.reset();
        var list = document.getElementById("comment-list");
        var last = list && list.lastElementChild;
        if (last) last.scrollIntoView({ block: "nearest" });
      }
      // A reply sent: its form empties and folds away under the reply that appeared.
      if (form.matches && form.matches(".reply-form") && e.detail.successful) {
        form.reset();
        var details = form.closest("details");
        if (details) details.open = false;
      }
    });
    // Other follow buttons for the same person follow the one that was pressed.
    document.body.addEventListener("riff:follow", function (e) {
      var d = e.detail || {};
      document.querySelectorAll('.follow-form[data-follow-user="' + d.user + '"]').forEach(
        function (form) {
          var input = form.querySelector('input[name="action"]');
          var btn = form.querySelector(".follow-btn");
          var label = form.querySelector(".follow-label");
          if (input) input.value = d.following ? "unfollow" : "follow";
          if (btn) btn.setAttribute("aria-pressed", d.following ? "true" : "false");
          if (label) label.textContent = d.following ? "Following" : "Follow";
        }
      );
    });
    // Enter posts a comment or reply; Shift+Enter makes a new line.
    document.body.addEventListener("keydown", function (e) {
      var t = e.target;
      var field = ".comment-form textarea, .reply-form textarea";
      if (e.key === "Enter" && !e.shiftKey && t.matches && t.matches(field)) {
        e.preventDefault();
        if (t.value.trim()) t.form.requestSubmit();
      }
    });
  }

  // ---------- start ----------

  function start() {
    if ("IntersectionObserver" in window) {
      observer = new IntersectionObserver(onIntersect, { threshold: [0, 0.25, VISIBLE, 0.9, 1] });
    }
    var feed = document.querySelector(".feed");
    if (feed && "MutationObserver" in window) {
      // Pages swapped in by infinite scroll are observed as soon as they land.
      new MutationObserver(function () {
        wireAll(feed);
      }).observe(feed, { childList: true, subtree: true });
    }
    wireAll(document);
    htmxGlue();
    document.addEventListener("keydown", onKey);
    document.addEventListener("click", onClick);
    document.addEventListener("visibilitychange", function () {
      if (!active) return;
      var s = clipState(active);
      var v = videoOf(active);
      if (document.visibilityState === "hidden") {
        stopWatch(s);
        reportView(active, s);
        flush();
        if (v && !v.paused) v.pause();
      } else {
        s.since = performance.now();
        s.watched = 0;
        if (!s.userPaused && !reducedMotion) play(active);
      }
    });
    window.addEventListener("pagehide", function () {
      if (active) {
        var s = clipState(active);
        stopWatch(s);
        reportView(active, s);
      }
      flush();
    });
    window.setInterval(flush, FLUSH_MS);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }

  // For tests and debugging: what is queued and the clip that is playing.
  window.riffPlayer = {
    queue: function () {
      return queue.slice();
    },
    flush: flush,
    active: function () {
      return active;
    },
  };
})();
