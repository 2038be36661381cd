/** The host, the queue, bookings and the usage report: the same services as rp top, rp queue, rp book(ings) and rp report. */
import { bookingBody, bookingIdParams, bookingsQuery, reportQuery } from '../core/api-requests.js';
import { forbidden, mayActOn, notFound } from '../core/api-errors.js';
import { readBookingFlags } from '../core/booking-request.js';
import { reportWindow } from '../core/usage-report.js';
import { cancelBookingOf, listBookings, makeBooking } from '../services/bookings.js';
import { queueStatus } from '../services/job-status.js';
import { topSnapshot } from '../services/top.js';
import { usageReport } from '../services/usage-report.js';
import type { RouteContext, TypedApi } from './routes-jobs.js';

export function hostRoutes(api: TypedApi, { session, authenticate }: RouteContext): void {
  api.get(
    '/host',
    {
      schema: {
        tags: ['host'],
        summary:
          'The host as rp top shows it: capacity, what is in use, the GPUs, running and queued jobs, and the bookings of the next 24 h',
      },
    },
    async (request) => {
      await authenticate(request);
      await session.reapIfDue();
      return topSnapshot(session, session.clock.now());
    },
  );

  api.get(
    '/queue',
    { schema: { tags: ['host'], summary: 'The queue, in the order it is served (rp queue)' } },
    async (request) => {
      await authenticate(request);
      return queueStatus(session, session.clock.now());
    },
  );

  api.get(
    '/bookings',
    {
      schema: {
        tags: ['bookings'],
        summary: "Upcoming and active bookings: yours, or everyone's with all=true (rp bookings)",
        querystring: bookingsQuery,
      },
    },
    async (request) => {
      const user = await authenticate(request);
      const all = request.query.all === 'true';
      return listBookings(session, {
        now: session.clock.now(),
        ...(all ? {} : { user: user.name }),
      });
    },
  );

  api.post(
    '/bookings',
    {
      schema: {
        tags: ['bookings'],
        summary: 'Book resources for a window of time (rp book)',
        body: bookingBody,
      },
    },
    async (request, reply) => {
      const user = await authenticate(request);
      const now = session.clock.now();
      const booking = readBookingFlags(request.body, { user: user.name, uid: user.uid }, now);
      const made = await makeBooking(session, booking, { now });
      return reply.code(201).send(made);
    },
  );

  api.delete(
    '/bookings/:id',
    {
      schema: {
        tags: ['bookings'],
        summary: 'Cancel a booking of yours (rp book --cancel)',
        params: bookingIdParams,
      },
    },
    async (request) => {
      const user = await authenticate(request);
      const { id } = request.params;
      const booking = (await session.store.read()).bookings?.find((entry) => entry.id === id);
      if (booking === undefined) throw notFound(`there is no booking ${id}`);
      if (!mayActOn(user.uid, booking.uid)) {
        throw forbidden(
          `booking ${id} is ${booking.user}'s; you (${user.name}) may cancel only your own`,
        );
      }
      const caller = { name: user.name, uid: user.uid, isRoot: user.uid === 0 };
      return cancelBookingOf(session, id, caller, session.clock.now());
    },
  );

  api.get(
    '/report',
    {
      schema: {
        tags: ['report'],
        summary:
          "Usage by user, project or week (rp report): your rows, everyone's for root; totals always count everyone",
        querystring: reportQuery,
      },
    },
    async (request) => {
      const user = await authenticate(request);
      const now = session.clock.now();
      const { by, ...window } = request.query;
      return usageReport(session, {
        window: reportWindow(window, now),
        by: by ?? 'user',
        viewer: { uid: user.uid, everyone: user.uid === 0 },
        now,
      });
    },
  );
}
