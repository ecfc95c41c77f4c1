// Reads an iCalendar text on stdin with ical.js and prints its events as JSON:
// [{uid, summary, start, end}] with start and end in Unix seconds, as ical.js
// understands them (a time it cannot place in a zone is read as floating).
// Usage: node read_ics.cjs <path of ical.js's dist/ical.es5.cjs> < feed.ics
const ICAL = require(process.argv[2]);
let text = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { text += chunk; });
process.stdin.on("end", () => {
  const calendar = new ICAL.Component(ICAL.parse(text));
  for (const zone of calendar.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.register(zone);
  }
  const events = calendar.getAllSubcomponents("vevent").map((component) => {
    const event = new ICAL.Event(component);
    return {
      uid: event.uid,
      summary: event.summary,
      start: event.startDate.toUnixTime(),
      end: event.endDate.toUnixTime(),
    };
  });
  process.stdout.write(JSON.stringify(events));
});
