from connector.cli import main

main(prog_name="connector")
