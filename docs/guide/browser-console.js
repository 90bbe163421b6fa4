const counter = new WebSocket(`ws://${location.host}/ws/counters/likes/`);
counter.onmessage = (e) => console.log(JSON.parse(e.data));
counter.onopen = () => counter.send(JSON.stringify({ type: 'increment' }));
