"""Binder revisions printed by the print worker (RQ on the real Redis), not in the request.

The rest of the suite runs print jobs where they are queued (RQ's synchronous
mode); here the queue is asynchronous as in production and a real worker
takes the job: in this process (RQ's SimpleWorker) to follow the job's page
step by step, and as the `flask print worker` command runs it, forking a work
horse per job.
"""

import re

import pytest
from rq import SimpleWorker
from sqlalchemy import func, select

from directory.core.extensions import db
from directory.core.models import PrintRevision, UserRole
from directory.printing import jobs
from tests.conftest import Auth, make_actor, make_contact, make_person, make_role


@pytest.fixture
def region(app):
    haninge = make_actor("Haninge kommun")
    make_contact(make_role(haninge), "+46701740610", label="TiB dygnet runt")
    db.session.commit()
    app.config["PRINT_JOBS_ASYNC"] = True  # a worker takes the job, as in production
    return haninge


def record(client):
    token = Auth(client).csrf_token("/binder")
    return client.post("/binder/revisions", data={"csrf_token": token, "mode": ""})


def preview(client, **fields):
    token = Auth(client).csrf_token("/binder")
    return client.post("/binder/previews", data={"csrf_token": token, "mode": "", **fields})


def revisions() -> int:
    return db.session.scalar(select(func.count(PrintRevision.id)))


def work_through_the_queue():
    SimpleWorker([jobs.queue()], connection=jobs.connection()).work(burst=True)


def test_a_revision_is_printed_by_the_worker_and_its_page_follows_it(
        app, client, login_as, region):
    login_as(UserRole.ADMIN)
    response = record(client)
    assert response.status_code == 303
    job_page = response.headers["Location"]
    assert re.fullmatch(r"/binder/jobs/[0-9a-f-]{36}", job_page)
    waiting = client.get(job_page)
    assert waiting.status_code == 200
    text = waiting.get_data(as_text=True)
    assert "Waiting for the print worker" in text
    assert '<meta http-equiv="refresh" content="3">' in text  # it updates by itself
    assert revisions() == 0  # nothing recorded in the request

    work_through_the_queue()

    done = client.get(job_page).get_data(as_text=True)
    assert "Revision 1 is recorded." in done and 'http-equiv="refresh"' not in done
    download = client.get(f"{job_page}.pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert download.data.startswith(b"%PDF")
    assert revisions() == 1
    # The revision is in the binder's list, as any recorded revision.
    assert "/binder/revisions/" in client.get("/binder").get_data(as_text=True)


def test_only_the_person_who_asked_sees_the_job_and_its_pdf(app, client, login_as, region):
    login_as(UserRole.ADMIN)
    job_page = record(client).headers["Location"]
    work_through_the_queue()
    assert client.get(f"{job_page}.pdf").status_code == 200
    client.post("/logout", data={"csrf_token": Auth(client).csrf_token("/")})
    login_as(UserRole.ADMIN, email="other-admin@example.org")
    assert client.get(job_page).status_code == 404
    assert client.get(f"{job_page}.pdf").status_code == 404
    assert client.get("/binder/jobs/no-such-job").status_code == 404


def test_a_job_that_fails_says_so_and_records_nothing(app, client, login_as, region):
    admin = login_as(UserRole.ADMIN)
    job = jobs.queue().enqueue(jobs.build_revision, None, admin.id, None, "not a moment", "en",
                               meta={"user_id": admin.id, "actor_id": None, "step": jobs.QUEUED})
    work_through_the_queue()
    page = client.get(f"/binder/jobs/{job.id}").get_data(as_text=True)
    assert "Printing failed; nothing was recorded." in page
    assert client.get(f"/binder/jobs/{job.id}.pdf").headers["Location"] == f"/binder/jobs/{job.id}"
    assert revisions() == 0


def test_when_the_queue_cannot_be_reached_the_revision_is_printed_in_the_request(
        app, client, login_as, region):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    login_as(UserRole.ADMIN)
    response = record(client)
    assert response.status_code == 303
    revision = db.session.scalar(select(PrintRevision))
    assert response.headers["Location"] == f"/binder/revisions/{revision.id}.pdf"
    assert client.get(response.headers["Location"]).data.startswith(b"%PDF")


def test_the_print_worker_command_builds_a_queued_revision(app, client, login_as, runner, region):
    """What a server runs beside the app servers: `flask print worker` (here --burst),
    a work horse forked for the job."""
    login_as(UserRole.ADMIN)
    job_page = record(client).headers["Location"]
    db.session.commit()
    result = runner.invoke(args=["print", "worker", "--burst"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert revisions() == 1
    assert "Revision 1 is recorded." in client.get(job_page).get_data(as_text=True)
    assert client.get(f"{job_page}.pdf").data.startswith(b"%PDF")


def test_an_editor_prints_their_actors_binder_through_the_queue(app, client, login_as, region):
    login_as(UserRole.EDITOR, actors=[region])
    token = Auth(client).csrf_token("/binder?actor=haninge-kommun")
    response = client.post("/actors/haninge-kommun/binder/revisions",
                           data={"csrf_token": token, "mode": "activated"})
    job_page = response.headers["Location"]
    work_through_the_queue()
    assert "Haninge kommun" in client.get(job_page).get_data(as_text=True)
    revision = db.session.scalar(select(PrintRevision))
    assert revision.scope == "binder:haninge-kommun"


def test_a_preview_is_laid_out_by_the_worker_and_records_nothing(app, client, login_as, region):
    login_as(UserRole.VIEWER)  # anyone signed in may preview, as with GET /binder.pdf
    assert 'action="/binder/previews"' in client.get("/binder").get_data(as_text=True)
    response = preview(client, mode="activated")
    job_page = response.headers["Location"]
    assert response.status_code == 303 and re.fullmatch(r"/binder/jobs/[0-9a-f-]{36}", job_page)
    assert "Waiting for the print worker" in client.get(job_page).get_data(as_text=True)
    work_through_the_queue()
    assert "The preview is ready" in client.get(job_page).get_data(as_text=True)
    download = client.get(f"{job_page}.pdf")
    assert download.mimetype == "application/pdf" and download.data.startswith(b"%PDF")
    assert revisions() == 0


def test_a_small_preview_done_at_once_goes_straight_to_its_pdf(app, client, login_as, region):
    app.config["PRINT_JOBS_ASYNC"] = False  # done where it is queued, as a small one is
    login_as(UserRole.VIEWER)
    response = preview(client, actor="haninge-kommun")
    assert response.status_code == 303
    assert re.fullmatch(r"/binder/jobs/[0-9a-f-]{36}\.pdf", response.headers["Location"])
    assert client.get(response.headers["Location"]).data.startswith(b"%PDF")
    assert preview(client, actor="no-such-actor").status_code == 404
    assert preview(client, mode="sideways").status_code == 400


def test_a_large_regions_binder_opened_by_its_address_is_not_laid_out_in_the_request(
        app, client, login_as, region):
    """GET /binder.pdf for a whole region above PRINT_IN_REQUEST_PERSONS neither
    lays it out (a national binder would hold a web worker for half a minute)
    nor queues it (a GET or HEAD anyone can repeat): it sends the reader to the
    binder page's "Preview PDF", which the worker lays out. An actor's
    binder, and a small region's, still come in the request."""
    make_person(region, "Åsa Öberg")
    make_person(region, "Bo Ek")
    db.session.commit()
    login_as(UserRole.VIEWER)
    app.config["PRINT_IN_REQUEST_PERSONS"] = 2
    assert client.get("/binder.pdf").data.startswith(b"%PDF")  # two persons: here
    app.config["PRINT_IN_REQUEST_PERSONS"] = 1  # the region stands for a national one
    assert client.head("/binder.pdf").status_code == 303
    response = client.get("/binder.pdf?mode=activated")
    assert response.status_code == 303 and response.headers["Location"] == "/binder"
    assert jobs.queue().count == 0  # nothing started by a GET or a HEAD
    page = client.get("/binder").get_data(as_text=True)
    assert "laid out by the print worker" in page and 'action="/binder/previews"' in page
    job_page = preview(client, mode="activated").headers["Location"]
    work_through_the_queue()
    download = client.get(f"{job_page}.pdf")
    assert download.mimetype == "application/pdf" and download.data.startswith(b"%PDF")
    assert revisions() == 0
    assert client.get("/binder.pdf?actor=haninge-kommun").data.startswith(b"%PDF")
    assert client.get("/binder.pdf?mode=sideways").status_code == 400


def collector_state() -> dict:
    """A job that tells how the cycle collector stands in the process running it."""
    import gc

    return {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}


def test_the_print_workers_horse_does_without_the_cycle_collector(app, runner, region):
    """A work horse lives for one job and exits: it leaves what it inherited from
    the worker to the freeze and collects no cycles; the worker itself keeps
    its collector."""
    import gc

    job = jobs.queue().enqueue(collector_state)
    result = runner.invoke(args=["print", "worker", "--burst"])
    assert result.exit_code == 0, result.output
    job.refresh()
    assert job.get_status() == "finished"
    state = job.return_value()
    assert state["enabled"] is False and state["frozen"] > 1000
    assert gc.isenabled()
