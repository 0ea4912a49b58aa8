print("In extract.py")
print("As a data scientist, this is where I use my extract code.")
