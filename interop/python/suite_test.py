"""Beam Python's own portable runner tests against a job server given by
its address: BEAM_JOB_ENDPOINT=host:port pytest suite_test.py.

PortableRunnerTest (apache_beam.runners.portability.portable_runner_test)
runs every test of FnApiRunnerTest through a JobService it starts itself;
this subclass points it at an already running one instead (our job server,
or Beam's Prism) with LOOPBACK workers, so that pass counts compare.
"""

import os

from apache_beam.options.pipeline_options import PortableOptions
from apache_beam.runners.portability import portable_runner_test


class ExternalJobServerTest(portable_runner_test.PortableRunnerTest):
    @classmethod
    def _create_job_endpoint(cls):
        return os.environ["BEAM_JOB_ENDPOINT"]

    def create_options(self):
        # The base class asks for EMBEDDED workers, which only Beam's
        # in-process job service can run.
        options = super().create_options()
        options.view_as(PortableOptions).environment_type = "LOOPBACK"
        return options


# Do not collect the imported base class a second time.
del portable_runner_test
