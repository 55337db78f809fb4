/* Riff's service worker, served at /sw.js so that its scope is the whole site: it shows the
   notifications Riff pushes (social/webpush.py) and, when one is tapped, brings up a Riff
   tab where it leads. It caches nothing: Riff works the same with or without it. Vanilla
   JS, no build step. */
"use strict";

var FALLBACK_URL = "/notifications/";

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

function payloadOf(event) {
  if (!event.data) return {};
  try {
    return event.data.json() || {};
  } catch (e) {
    return { body: event.data.text() };
  }
}

/* Only Riff's own pages: a link elsewhere opens the notifications list instead. */
function riffUrl(url) {
  var target;
  try {
    target = new URL(url || FALLBACK_URL, self.location.origin);
  } catch (e) {
    target = new URL(FALLBACK_URL, self.location.origin);
  }
  if (target.origin !== self.location.origin) target = new URL(FALLBACK_URL, self.location.origin);
  return target.href;
}

self.addEventListener("push", function (event) {
  var data = payloadOf(event);
  var options = {
    body: data.body || "You have a new notification.",
    data: { url: riffUrl(data.url) },
  };
  if (data.tag) {
    // One line of the list, one notification: a newer push for it replaces the older one,
    // and still alerts.
    options.tag = String(data.tag);
    options.renotify = true;
  }
  event.waitUntil(self.registration.showNotification(data.title || "Riff", options));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = riffUrl(event.notification.data && event.notification.data.url);
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (tabs) {
      var riff = tabs.filter(function (tab) {
        return new URL(tab.url).origin === self.location.origin;
      });
      for (var i = 0; i < riff.length; i++) {
        if (riff[i].url === url && "focus" in riff[i]) return riff[i].focus();
      }
      if (riff.length && "focus" in riff[0]) {
        return riff[0]
          .focus()
          .then(function (tab) {
            return tab.navigate(url);
          })
          .catch(function () {
            return self.clients.openWindow(url);
          });
      }
      return self.clients.openWindow(url);
    })
  );
});
