// The Node service's validation, rebuilt from the spec and the project's documented choices:
// Joi 17 schemas, Express 4's query parser (qs) and V8's Date. Reads JSON lines
//   {"schema": "create", "raw": "<JSON body>"} | {"schema": "list", "qs": "<query string>"}
//   | {"date": "<string>"}
// and writes one JSON line each: {"ok": true, "value": ...} (dates as {"date": ms}) or
// {"ok": false, "message": ...}; for a date, {"iso": <Joi's pattern matched>, "time": ms|null}.
// Run with TZ=UTC: the service reads local times as UTC.
'use strict';

const Joi = require('joi');
const JoiCommon = require('joi/lib/common');
const qs = require('qs');
const readline = require('readline');

const STATUSES = ['scheduled', 'live', 'ended', 'cancelled'];
const NOW = {'date.min': '{{#label}} must be greater than or equal to now'};  // the spec's text
const fields = {
  title: Joi.string().min(3).max(200),
  description: Joi.string().allow('').max(1000),
  scheduledAt: Joi.date().iso().min('now').max('9999-01-01T00:00:00.000Z').messages(NOW),
  duration: Joi.number().min(15).max(480).integer(),
  maxParticipants: Joi.number().min(1).max(1000).integer(),
};
const schemas = {
  create: Joi.object({
    title: fields.title.required(),
    description: fields.description,
    courseId: Joi.string().guid().required(),
    instructorId: Joi.string().guid(),
    scheduledAt: fields.scheduledAt.required(),
    duration: fields.duration.required(),
    maxParticipants: fields.maxParticipants.default(100),
  }),
  update: Joi.object(fields).min(1),
  list: Joi.object({
    page: Joi.number().min(1).integer().default(1),
    pageCount: Joi.number().min(1).max(100).integer().default(10),
    search: Joi.string().allow('').max(200).default(''),
    status: Joi.string().valid(...STATUSES),
    courseId: Joi.string().max(128),
    instructorId: Joi.string().max(128),
    from: Joi.date().iso(),
    to: Joi.date().iso().when('from', {is: Joi.exist(), then: Joi.date().min(Joi.ref('from'))}),
  }),
};
// Bodies the Node controllers checked with `if (!value)` before Joi: [key, message, rule].
const STUDENT_ID = /^(?!\.\.?$)[^/\x00-\x1f\x7f-\x9f]+$/;
const controllers = {
  participant: ['studentId', 'Student ID is required', Joi.string().max(128).pattern(STUDENT_ID, 'student id')],
  start: ['roomName', 'Room name is required', Joi.string().max(128)],
  stop: ['recordingId', 'Recording ID is required', Joi.string().max(128)],
  status: ['status', 'Status is required', Joi.any()],
};
const INVALID_STATUS = 'Invalid status value. Must be one of: ' + STATUSES.join(', ');

function plain(value) {
  return JSON.parse(JSON.stringify(value, function (key, item) {
    return this[key] instanceof Date ? {date: this[key].getTime()} : item;
  }));
}

function answer({error, value}) {
  return error ? {ok: false, message: error.details[0].message} : {ok: true, value: plain(value)};
}

function validate(request) {
  let data;
  if (request.qs !== undefined) data = qs.parse(request.qs, {allowPrototypes: true, arrayLimit: 1000});
  else data = request.raw.trim() === '' ? {} : JSON.parse(request.raw);
  const controller = controllers[request.schema];
  if (!controller) return answer(schemas[request.schema].validate(data));
  const [key, required, rule] = controller;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return {ok: false, message: '"value" must be of type object'};
  }
  if (!data[key]) return {ok: false, message: required};
  if (request.schema === 'status' && !STATUSES.includes(data[key])) return {ok: false, message: INVALID_STATUS};
  return answer(Joi.object({[key]: rule}).validate(data));
}

function date(text) {
  const time = new Date(text).getTime();
  return {iso: JoiCommon.isIsoDate(text), time: Number.isNaN(time) ? null : time};
}

readline.createInterface({input: process.stdin}).on('line', (line) => {
  const request = JSON.parse(line);
  let result;
  try {
    result = request.date !== undefined ? date(request.date) : validate(request);
  } catch (error) {
    result = {ok: false, message: 'THROWN ' + error.message};
  }
  process.stdout.write(JSON.stringify(result) + '\n');
});
