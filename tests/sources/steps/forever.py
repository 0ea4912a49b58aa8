import time

print("running until stopped", flush=True)
while True:
    time.sleep(1)
