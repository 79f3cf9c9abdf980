// A page written the way the HiPKI component's published sample pages are: a click opens the
// popup on http://localhost:61161, answers its getTbs with the package (posted with "*"), and
// shows the response. window.tbsPackage is set by the test before the click.
var popup = null;
var timer = null;

function receiveMessage(event) {
  if (event.origin != 'http://localhost:61161') return;
  var ret = JSON.parse(event.data);
  if (ret.func == 'getTbs') {
    clearTimeout(timer);
    popup.postMessage(JSON.stringify(window.tbsPackage), '*');
    return;
  }
  document.getElementById('result').textContent = event.data;
  document.body.dataset.done = 'true';
}

window.addEventListener('message', receiveMessage, false);
document.getElementById('run').addEventListener('click', function () {
  delete document.body.dataset.done;
  popup = window.open('http://localhost:61161/popupForm', 'signWindow', 'height=200, width=200, left=100, top=20');
  timer = setTimeout(function () {
    document.getElementById('result').textContent = 'component not installed';
    document.body.dataset.done = 'true';
  }, 3500);
});
document.body.dataset.ready = 'true';
