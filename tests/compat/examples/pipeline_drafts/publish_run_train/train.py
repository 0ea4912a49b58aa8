print("In train.py")
print("As a data scientist, this is where I use my training code.")
