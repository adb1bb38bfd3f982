"""A PROCESS-environment boot command for Beam Python workers.

A job server starts a PROCESS worker as "<command> --id=ID
--provision_endpoint=HOST:PORT" (Beam's container boot protocol, without
the container). Beam Python ships its boot program only inside its Docker
image, so this does its part: it asks the provision service for the
control endpoint and runs the SDK harness on it until the runner closes the
control stream.
"""

import argparse
import sys

import grpc
from apache_beam.portability.api import beam_provision_api_pb2
from apache_beam.portability.api import beam_provision_api_pb2_grpc
from apache_beam.runners.worker.sdk_worker import SdkHarness


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--id", required=True)
    ap.add_argument("--provision_endpoint", required=True)
    args, _ = ap.parse_known_args(argv)
    with grpc.insecure_channel(args.provision_endpoint) as ch:
        stub = beam_provision_api_pb2_grpc.ProvisionServiceStub(ch)
        md = [("worker_id", args.id)]
        info = stub.GetProvisionInfo(
            beam_provision_api_pb2.GetProvisionInfoRequest(), metadata=md, timeout=60).info
    SdkHarness(info.control_endpoint.url, worker_id=args.id).run()


if __name__ == "__main__":
    main(sys.argv[1:])
