/* Browser notifications on the notification settings page: turn Web Push on or off for
   this browser. Registers Riff's service worker (/sw.js), asks the browser's permission,
   subscribes with the instance's key (GET /api/v1/push/key/) and gives the subscription to
   Riff (POST /api/v1/push/subscriptions/); off unsubscribes and tells Riff (DELETE). Says
   plainly what went wrong where something does. Vanilla JS, no build step. */
(function () {
  "use strict";

  var section = document.querySelector(".js-push");
  if (!section) return;
  var status = section.querySelector(".js-push-status");
  var onButton = section.querySelector(".js-push-on");
  var offButton = section.querySelector(".js-push-off");
  var registration = null;

  var SAY = {
    checking: "Checking this browser…",
    unsupported:
      "This browser can't get push notifications (it has no service workers or Push API), " +
      "so Riff can only show them in the bell.",
    insecure:
      "Browsers allow push notifications only on a secure (HTTPS) connection, so they can't be " +
      "turned on here.",
    off: "Off for this browser.",
    on: "On for this browser: Riff's notifications show here even when Riff is closed.",
    asking: "Asking this browser for permission…",
    denied:
      "This browser blocks notifications from Riff. Allow them in the browser's site " +
      "settings, then reload this page.",
    dismissed: "You didn't allow notifications, so they stay off.",
    unreachable:
      "This browser couldn't reach its push service, so browser notifications are still off. " +
      "Try again later.",
    noKey: "Riff couldn't give this browser its push key. Reload the page and try again.",
    notSaved: "Riff couldn't save this browser's subscription, so browser notifications are off.",
    turningOff: "Turning off…",
    offFailed: "Riff couldn't turn browser notifications off. Reload the page and try again.",
    workerFailed: "This browser couldn't start Riff's service worker, so push can't be turned on.",
  };

  function show(state, text) {
    status.textContent = text || SAY[state];
    section.setAttribute("data-state", state);
    onButton.hidden = !(state === "off" || state === "dismissed" || state === "unreachable" ||
      state === "noKey" || state === "notSaved");
    offButton.hidden = !(state === "on" || state === "offFailed");
    onButton.disabled = false;
    offButton.disabled = false;
  }

  function send(method, body) {
    return window.fetch(section.getAttribute("data-subscriptions"), {
      method: method,
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": window.Riff.csrfToken(),
      },
      body: JSON.stringify(body),
    });
  }

  /* The application server key as the Push API takes it: bytes from base64url. */
  function keyBytes(text) {
    var base64 = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function permission() {
    // Older browsers answer through a callback, newer ones with a promise.
    return new Promise(function (resolve) {
      var asked = window.Notification.requestPermission(resolve);
      if (asked && typeof asked.then === "function") asked.then(resolve);
    });
  }

  /* The server may have dropped a subscription this browser still has (its push service
     failed for a while): saying it again keeps the page honest. */
  function resync(subscription) {
    return send("POST", subscription.toJSON()).then(function (response) {
      show(response.ok ? "on" : "notSaved");
    });
  }

  function turnOn() {
    onButton.disabled = true;
    show("asking");
    onButton.hidden = true;
    permission()
      .then(function (answer) {
        if (answer === "denied") return show("denied");
        if (answer !== "granted") return show("dismissed");
        return window
          .fetch(section.getAttribute("data-key"), {
            credentials: "same-origin",
            headers: { Accept: "application/json" },
          })
          .then(function (response) {
            return response.ok ? response.json() : null;
          })
          .catch(function () {
            return null;
          })
          .then(function (body) {
            if (!body || !body.public_key) return show("noKey");
            return registration.pushManager
              .subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(body.public_key) })
              .then(
                function (subscription) {
                  return send("POST", subscription.toJSON()).then(function (response) {
                    if (response.ok) return show("on");
                    // Riff refused it: leave nothing subscribed that Riff doesn't know of.
                    return subscription.unsubscribe().then(function () {
                      show("notSaved");
                    });
                  });
                },
                function () {
                  show("unreachable");
                }
              );
          });
      })
      .catch(function () {
        show("notSaved");
      });
  }

  function turnOff() {
    offButton.disabled = true;
    show("turningOff");
    offButton.hidden = true;
    registration.pushManager
      .getSubscription()
      .then(function (subscription) {
        if (!subscription) return show("off");
        return send("DELETE", { endpoint: subscription.endpoint }).then(function (response) {
          // 404: Riff had already dropped it; the browser's side still goes.
          if (!response.ok && response.status !== 404) return show("offFailed");
          return subscription.unsubscribe().then(function () {
            show("off");
          });
        });
      })
      .catch(function () {
        show("offFailed");
      });
  }

  function start() {
    onButton.addEventListener("click", turnOn);
    offButton.addEventListener("click", turnOff);
    if (!window.isSecureContext) return show("insecure");
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
      return show("unsupported");
    }
    show("checking");
    navigator.serviceWorker
      .register(section.getAttribute("data-worker"), { scope: "/" })
      .then(function () {
        return navigator.serviceWorker.ready;
      })
      .then(function (ready) {
        registration = ready;
        return ready.pushManager.getSubscription();
      })
      .then(function (subscription) {
        if (subscription) return resync(subscription);
        if (window.Notification.permission === "denied") return show("denied");
        return show("off");
      })
      .catch(function () {
        show("workerFailed");
      });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
