// Live staff pages (server-sent events); every page works without this file.
// - /inbox: when a conversation could have moved, the list is fetched again and swapped in,
//   unless staff are typing or have ticked something in it: then a button offers the news;
// - a conversation page: says who else is on it ("… is viewing / is editing the reply"), says
//   when the conversation changed, and reports this page's own presence every few seconds.
//   While an approved reply waits to be sent (nothing on the page can be edited then), the
//   page shows its sending, or its failure, in place instead of asking for a reload.
// A stream that ends (the server's limit, a restart, a full process) is opened again later.
(function () {
  "use strict";
  if (!window.EventSource || !window.fetch) { return; }
  var RETRY_MS = 30000;
  var HEARTBEAT_MS = 15000;

  function open(url, handlers) {
    var source = new EventSource(url);
    Object.keys(handlers).forEach(function (name) { source.addEventListener(name, handlers[name]); });
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {  // refused (503, signed out): later
        window.setTimeout(function () { open(url, handlers); }, RETRY_MS);
      }
    };
    return source;
  }

  function csrfToken() {
    var field = document.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  // --- the inbox list
  var main = document.querySelector("main");
  if (main && window.location.pathname === "/inbox") {
    var status = document.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    main.parentNode.insertBefore(status, main);
    var offer = null;

    var busy = function () {
      var active = document.activeElement;
      if (active && main.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) {
        return true;
      }
      return main.querySelector("input[type=checkbox]:checked") !== null;
    };
    var swap = function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("main");
      if (!fresh || fresh.innerHTML === main.innerHTML) { return; }
      if (busy()) {
        if (!offer) {
          offer = document.createElement("button");
          offer.type = "button";
          offer.className = "secondary live-offer";
          offer.textContent = "New activity: show the updated list";
          offer.addEventListener("click", function () { offer.remove(); offer = null; refresh(true); });
          main.insertBefore(offer, main.firstChild);
        }
        return;
      }
      main.innerHTML = fresh.innerHTML;
      offer = null;
      status.textContent = "The list was updated.";
    };
    var refresh = function (force) {
      window.fetch(window.location.href, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null) { return; }
          if (force) { main.innerHTML = new DOMParser().parseFromString(html, "text/html").querySelector("main").innerHTML; return; }
          swap(html);
        })
        .catch(function () { /* the list stays as it is; the next change tries again */ });
    };
    open("/inbox/events", {  // on (re)connecting, catch up with what happened meanwhile
      ready: function () { refresh(false); },
      changed: function () { refresh(false); }
    });
  }

  // --- a conversation page
  var live = document.querySelector("[data-live-conversation]");
  if (live) {
    var id = live.getAttribute("data-live-conversation");
    var base = "/inbox/conversations/" + id;
    var find = function (testid) { return document.querySelector("[data-testid=" + testid + "]"); };
    var editing = false;
    var announce = document.createElement("p");
    announce.className = "visually-hidden";
    announce.setAttribute("role", "status");
    main.parentNode.insertBefore(announce, main);
    var refreshInPlace = function () {
      window.fetch(base, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          var fresh = html && new DOMParser().parseFromString(html, "text/html").querySelector("main");
          if (!fresh) { find("changed").hidden = false; return; }
          main.innerHTML = fresh.innerHTML;
          announce.textContent = "The conversation was updated.";
          watchTyping();
        })
        .catch(function () { find("changed").hidden = false; });
    };
    // this page load's own id: a report overtaken by the page's "left" beacon is then ignored
    var pageId = Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
    var report = function (activity, beacon) {
      var data = new FormData();
      data.set("csrf_token", csrfToken());
      data.set("activity", activity);
      data.set("page", pageId);
      if (beacon && navigator.sendBeacon) { navigator.sendBeacon(base + "/presence", data); return; }
      window.fetch(base + "/presence", { method: "POST", body: data, credentials: "same-origin" })
        .catch(function () { /* presence is a courtesy: the save-time check still protects */ });
    };
    var watchTyping = function () {
      var box = document.querySelector(".edit-form textarea[name=text]");
      if (box) {
        box.addEventListener("input", function () {
          if (!editing) { editing = true; report("editing"); }
        });
      }
    };
    watchTyping();
    report("viewing");
    window.setInterval(function () { report(editing ? "editing" : "viewing"); }, HEARTBEAT_MS);
    window.addEventListener("pagehide", function () { report("left", true); });
    open(base + "/events?since=" + encodeURIComponent(live.getAttribute("data-live-since") || ""), {
      changed: function (event) {
        var holder = document.querySelector("[data-live-conversation]");
        // a page refreshed in place may already show this change: its token says so
        if (holder && event.lastEventId && event.lastEventId === holder.getAttribute("data-live-since")) {
          return;
        }
        if (!editing && holder && holder.getAttribute("data-live-refresh") === "sending") {
          refreshInPlace();
          return;
        }
        find("changed").hidden = false;
      },
      presence: function (event) {
        var presence = find("presence");
        var people = JSON.parse(event.data || "[]");
        presence.textContent = people.map(function (item) { return item.text; }).join("; ") + (people.length ? "." : "");
        presence.hidden = people.length === 0;
      }
    });
  }
})();
