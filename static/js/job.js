/* Riff job progress: a job's live status over a WebSocket, htmx polling when sockets
   fail, and the create form's small helpers (character count, slider values).
   Vanilla JS, no build step. */
(function () {
  "use strict";

  var FINAL = { succeeded: true, failed: true, cancelled: true, timed_out: true };
  var watchers = {}; // job id -> { mode: "socket" | "poll", socket, done }

  // ---------- formatting ----------

  function ordinal(n) {
    var rem100 = n % 100;
    var suffix = "th";
    if (rem100 < 11 || rem100 > 13) {
      suffix = { 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th";
    }
    return n + suffix;
  }

  function queueText(position) {
    if (!position) return "";
    return position === 1 ? "Next in line" : ordinal(position) + " in line";
  }

  function etaText(seconds) {
    if (seconds === null || seconds === undefined) return "";
    if (seconds < 90) return "About " + Math.round(seconds) + " s left";
    return "About " + Math.round(seconds / 60) + " min left";
  }

  function percentOf(status) {
    if (status.state === "encoding" || status.state === "succeeded") return 100;
    var p = status.progress || {};
    if (!p.total) return 0;
    return Math.round((100 * p.step) / p.total);
  }

  function stepsText(status) {
    var p = status.progress || {};
    if (status.state === "queued") return "Waiting for a free worker";
    if (status.state === "encoding") return "Encoding the video";
    if (p.total) return "Step " + p.step + " of " + p.total;
    return "Starting up";
  }

  // ---------- one job's element ----------

  function rootOf(id) {
    return document.querySelector('[data-job-live][data-job-id="' + id + '"]');
  }

  function setText(root, selector, text) {
    var node = root.querySelector(selector);
    // Only real changes: the state line is a live region, and repeats are noise.
    if (node && node.textContent !== text) node.textContent = text;
  }

  function render(id, status) {
    var root = rootOf(id);
    if (!root) return;
    root.setAttribute("data-state", status.state);
    var percent = percentOf(status);
    var bar = root.querySelector(".js-progress");
    if (bar) {
      bar.setAttribute("aria-valuenow", String(percent));
      if (bar.hasAttribute("aria-valuetext")) {
        bar.setAttribute(
          "aria-valuetext",
          status.state === "queued" ? "Waiting to start" : stepsText(status)
        );
      }
      bar.style.setProperty("--progress", percent + "%");
    }
    setText(root, ".js-percent", String(percent));
    var cancelling = status.cancel_requested && !FINAL[status.state];
    setText(root, ".js-state-label", cancelling ? "Cancelling…" : status.state_label);
    setText(root, ".js-queue", queueText(status.queue_position));
    setText(root, ".js-steps", stepsText(status));
    setText(root, ".js-eta", etaText(status.eta_seconds));
    var cancel = root.querySelector(".js-cancel");
    if (cancel) cancel.hidden = !!cancelling;
    if (FINAL[status.state]) finish(id);
  }

  // The final fragment brings what the live updates can't: the clip and the post form,
  // or the reason it failed.
  function finish(id) {
    var watcher = watchers[id];
    if (watcher && watcher.done) return;
    if (watcher) {
      watcher.done = true;
      if (watcher.socket) watcher.socket.close();
    }
    var root = rootOf(id);
    if (root && window.htmx) {
      window.htmx.ajax("GET", root.getAttribute("data-status-url"), {
        target: root,
        swap: "outerHTML",
      });
    }
  }

  // Polling mode: htmx re-fetches the fragment, which keeps its hx-trigger while active.
  function poll(id) {
    var root = rootOf(id);
    if (!root) return;
    root.setAttribute("data-live", "poll");
    if (root.hasAttribute("hx-trigger") || !window.htmx) return;
    var url = root.getAttribute("data-status-url");
    url += (url.indexOf("?") === -1 ? "?" : "&") + "poll=1";
    root.setAttribute("hx-get", url);
    root.setAttribute("hx-trigger", "every " + (root.getAttribute("data-poll-every") || "1s"));
    root.setAttribute("hx-swap", "outerHTML");
    window.htmx.process(root);
  }

  function socketUrl(root) {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + root.getAttribute("data-ws-path");
  }

  function watch(root) {
    var id = root.getAttribute("data-job-id");
    var watcher = watchers[id];
    if (FINAL[root.getAttribute("data-state")]) {
      if (watcher && !watcher.done) {
        watcher.done = true;
        if (watcher.socket) watcher.socket.close();
      }
      return;
    }
    if (watcher && !watcher.done) {
      // A swapped-in fragment (after Cancel, say) lost the polling attributes: put them back.
      if (watcher.mode === "poll") poll(id);
      else root.setAttribute("data-live", watcher.opened ? "socket" : "connecting");
      return;
    }
    if (!("WebSocket" in window) || root.hasAttribute("data-force-poll")) {
      watchers[id] = { mode: "poll", done: false };
      poll(id);
      return;
    }
    var socket;
    try {
      socket = new WebSocket(socketUrl(root));
    } catch (e) {
      watchers[id] = { mode: "poll", done: false };
      poll(id);
      return;
    }
    watcher = { mode: "socket", socket: socket, opened: false, done: false };
    watchers[id] = watcher;
    root.setAttribute("data-live", "connecting");
    socket.addEventListener("open", function () {
      watcher.opened = true;
      var current = rootOf(id);
      if (current) current.setAttribute("data-live", "socket");
    });
    socket.addEventListener("message", function (event) {
      var status;
      try {
        status = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      render(id, status);
    });
    // A socket that can't open, or drops before the job is final: poll instead.
    socket.addEventListener("close", function () {
      if (watcher.done) return;
      watcher.mode = "poll";
      watcher.socket = null;
      poll(id);
    });
  }

  function scan(node) {
    if (!node || !node.querySelectorAll) return;
    if (node.matches && node.matches("[data-job-live]")) watch(node);
    node.querySelectorAll("[data-job-live]").forEach(watch);
    node.querySelectorAll("video[autoplay]").forEach(function (video) {
      // Swapped-in videos don't always honour autoplay; they are muted, so play() may.
      if (video.paused) {
        var played = video.play();
        if (played && played.catch) played.catch(function () {});
      }
    });
  }

  // ---------- drafts: thumbnails play on hover and focus ----------

  function hoverPlay(card, on) {
    var video = card.querySelector("video[data-src]");
    if (!video) return;
    if (on) {
      if (!video.getAttribute("src")) video.setAttribute("src", video.getAttribute("data-src"));
      card.classList.add("is-playing");
      var played = video.play();
      if (played && played.catch) played.catch(function () {});
    } else {
      card.classList.remove("is-playing");
      video.pause();
    }
  }

  function wireHover() {
    document.addEventListener("mouseover", function (e) {
      var card = e.target.closest && e.target.closest("[data-hover-play]");
      if (card && !card.contains(e.relatedTarget)) hoverPlay(card, true);
    });
    document.addEventListener("mouseout", function (e) {
      var card = e.target.closest && e.target.closest("[data-hover-play]");
      if (card && !card.contains(e.relatedTarget)) hoverPlay(card, false);
    });
    document.addEventListener("focusin", function (e) {
      var card = e.target.closest && e.target.closest("[data-hover-play]");
      if (card) hoverPlay(card, true);
    });
    document.addEventListener("focusout", function (e) {
      var card = e.target.closest && e.target.closest("[data-hover-play]");
      if (card && !card.contains(e.relatedTarget)) hoverPlay(card, false);
    });
  }

  // ---------- the create form ----------

  function wireCreateForm() {
    document.querySelectorAll("[data-count-target]").forEach(function (input) {
      var box = document.getElementById(input.getAttribute("data-count-target"));
      var count = box && box.querySelector(".js-count");
      if (!count) return;
      var max = parseInt(input.getAttribute("maxlength"), 10) || 0;
      var update = function () {
        count.textContent = String(input.value.length);
        box.classList.toggle("is-near-limit", max > 0 && input.value.length > max * 0.9);
      };
      input.addEventListener("input", update);
      update();
    });
    document.querySelectorAll("input[type=range][data-output]").forEach(function (input) {
      var output = document.getElementById(input.getAttribute("data-output"));
      if (!output) return;
      var update = function () {
        output.textContent = input.value;
      };
      input.addEventListener("input", update);
      update();
    });
    document.querySelectorAll("form.create-form").forEach(function (form) {
      // The Length slider ends at the chosen model's longest clip.
      var model = form.querySelector("select[data-longest]");
      var length = form.querySelector("input[name=duration_s]");
      if (model && length) {
        var longest = JSON.parse(model.getAttribute("data-longest") || "{}");
        var fitLength = function () {
          var end = longest[model.value] || parseFloat(length.getAttribute("data-limit")) || 10;
          length.max = String(end);
          if (parseFloat(length.value) > end) length.value = String(end);
          length.dispatchEvent(new Event("input"));
          form.querySelectorAll(".js-longest").forEach(function (el) {
            el.textContent = String(end);
          });
        };
        model.addEventListener("change", fitLength);
        fitLength();
      }
      wirePromptGuides(form, model);
      form.addEventListener("submit", function () {
        // One click, one job: the idempotency key also guards a double submit.
        var button = form.querySelector("[type=submit]");
        if (button) {
          window.setTimeout(function () {
            button.disabled = true;
            button.setAttribute("aria-busy", "true");
          }, 0);
        }
      });
    });
  }

  // ---------- what a small model can draw ----------

  // What a word may be the plural of: circles -> circle, boxes -> box, skies -> sky.
  function singulars(word) {
    if (/ies$/.test(word)) return [word.slice(0, -3) + "y", word.slice(0, -1)];
    if (/es$/.test(word)) return [word.slice(0, -1), word.slice(0, -2)];
    return /s$/.test(word) ? [word.slice(0, -1)] : [];
  }

  // The words of a prompt outside a model's vocabulary, as generation/house/vocabulary.py
  // finds them: letters (an apostrophe inside, a possessive 's dropped), each once, in
  // order; a plural known when its singular is; the filler is in the known words.
  function unknownWords(text, known) {
    var seen = Object.create(null);
    var out = [];
    var words = text.toLowerCase().replace(/\u2019/g, "'").match(/[a-z]+(?:'[a-z]+)*/g);
    (words || []).forEach(function (raw) {
      var word = raw.replace(/'s$/, "");
      var plural = singulars(word).some(function (s) {
        return known[s] || seen[s];
      });
      if (known[word] || plural || seen[word]) return;
      seen[word] = true;
      out.push(word);
    });
    return out;
  }

  function insertWords(input, words) {
    var start = input.selectionStart === undefined ? input.value.length : input.selectionStart;
    var end = input.selectionEnd === undefined ? start : input.selectionEnd;
    var before = input.value.slice(0, start);
    var after = input.value.slice(end);
    var text = (before && !/\s$/.test(before) ? " " : "") + words + (after && !/^\s/.test(after) ? " " : "");
    input.value = before + text + after;
    var caret = before.length + text.length;
    input.setSelectionRange(caret, caret);
  }

  function wirePromptGuides(form, model) {
    var prompt = form.querySelector("textarea[name=prompt]");
    var guides = form.querySelectorAll("[data-guide-for]");
    if (!prompt) return;
    var placeholders = JSON.parse(prompt.getAttribute("data-placeholders") || "{}");
    var knownOf = {};
    guides.forEach(function (guide) {
      var known = Object.create(null);
      JSON.parse(guide.getAttribute("data-known") || "[]").forEach(function (w) {
        known[w] = true;
      });
      knownOf[guide.getAttribute("data-guide-for")] = known;
    });
    var check = function () {
      guides.forEach(function (guide) {
        if (guide.hidden) return;
        var unknown = unknownWords(prompt.value, knownOf[guide.getAttribute("data-guide-for")]);
        var note = guide.querySelector(".prompt-unknown");
        setText(note, ".js-unknown", unknown.join(", "));
        note.hidden = unknown.length === 0;
      });
    };
    var choose = function () {
      var key = model ? model.value : "";
      guides.forEach(function (guide) {
        guide.hidden = guide.getAttribute("data-guide-for") !== key;
      });
      if (placeholders[key]) prompt.placeholder = placeholders[key];
      check();
    };
    form.addEventListener("click", function (e) {
      var button = e.target.closest("[data-insert], [data-example]");
      if (!button) return;
      if (button.hasAttribute("data-example")) {
        prompt.value = button.getAttribute("data-example");
      } else {
        insertWords(prompt, button.getAttribute("data-insert"));
      }
      prompt.dispatchEvent(new Event("input", { bubbles: true }));
      prompt.focus();
    });
    prompt.addEventListener("input", check);
    if (model) model.addEventListener("change", choose);
    choose();
  }

  function start() {
    wireCreateForm();
    wireHover();
    scan(document.body);
    if (window.htmx) {
      document.body.addEventListener("htmx:load", function (e) {
        if (e.target !== document.body) scan(e.target);
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
