// Berth console: the live parts of a server-rendered page, as a plain ES module (no
// build step, no dependencies). The event feed comes over SSE from /console/events; the
// plugin, tool and session tables are re-rendered by the server and swapped in every
// few seconds, so the numbers stay current without a client-side data model.

const feed = document.getElementById('feed');
const MAX_FEED = 200;

function addEvent(event) {
  const item = document.createElement('li');
  item.dataset.kind = event.kind;
  const time = document.createElement('time');
  time.dateTime = new Date(event.at).toISOString();
  time.textContent = new Date(event.at).toLocaleTimeString();
  const kind = document.createElement('span');
  kind.className = `kind kind-${event.kind.split('_').pop()}`;
  kind.textContent = event.kind.replaceAll('_', ' ');
  const text = document.createElement('span');
  text.textContent = event.text;  // text, never HTML: events carry plugin-supplied strings
  item.append(time, kind, text);
  feed.prepend(item);
  while (feed.children.length > MAX_FEED) feed.lastElementChild.remove();
}

if (feed) {
  const source = new EventSource('/console/events');
  source.addEventListener('berth', (message) => addEvent(JSON.parse(message.data)));
  source.addEventListener('open', () => { document.body.dataset.feed = 'open'; });
}

async function refresh() {
  for (const section of document.querySelectorAll('[data-refresh]')) {
    try {
      const response = await fetch(section.dataset.refresh, { credentials: 'same-origin' });
      if (response.ok) section.innerHTML = await response.text();
    } catch {
      // The server may be restarting; the next tick tries again.
    }
  }
}
setInterval(refresh, 2000);
