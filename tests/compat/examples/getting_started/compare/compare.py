print("In compare.py")
print("As a data scientist, this is where I use my compare code.")
