"""Packet capture decryption: pcap/pcapng reading, TCP reassembly, TLS session reconstruction, reports.

Entry point: :func:`tlsstate.capture.decrypt.decrypt_capture`.
"""
